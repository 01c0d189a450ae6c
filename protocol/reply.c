/* SPDX-License-Identifier: MIT */
/* AMQP's reply codes by name (AMQP 0-9-1 section 1.1, "constants"), and
 * the reply text RabbitMQ sends with them: "NOT_FOUND - no queue 'q'". The
 * one table for channel.close, connection.close and the HTTP API. */
#include "protocol_internal.h"

#include <stdarg.h>
#include <stdio.h>

const char *
wr_reply_name(uint16_t code)
{
    switch (code) {
    case WR_REPLY_SUCCESS:
        return "OK";
    case WR_REPLY_CONTENT_TOO_LARGE:
        return "CONTENT_TOO_LARGE";
    case WR_REPLY_NO_ROUTE:
        return "NO_ROUTE";
    case WR_REPLY_NO_CONSUMERS:
        return "NO_CONSUMERS";
    case WR_REPLY_CONNECTION_FORCED:
        return "CONNECTION_FORCED";
    case WR_REPLY_INVALID_PATH:
        return "INVALID_PATH";
    case WR_REPLY_ACCESS_REFUSED:
        return "ACCESS_REFUSED";
    case WR_REPLY_NOT_FOUND:
        return "NOT_FOUND";
    case WR_REPLY_RESOURCE_LOCKED:
        return "RESOURCE_LOCKED";
    case WR_REPLY_PRECONDITION_FAILED:
        return "PRECONDITION_FAILED";
    case WR_REPLY_FRAME_ERROR:
        return "FRAME_ERROR";
    case WR_REPLY_SYNTAX_ERROR:
        return "SYNTAX_ERROR";
    case WR_REPLY_COMMAND_INVALID:
        return "COMMAND_INVALID";
    case WR_REPLY_CHANNEL_ERROR:
        return "CHANNEL_ERROR";
    case WR_REPLY_UNEXPECTED_FRAME:
        return "UNEXPECTED_FRAME";
    case WR_REPLY_RESOURCE_ERROR:
        return "RESOURCE_ERROR";
    case WR_REPLY_NOT_ALLOWED:
        return "NOT_ALLOWED";
    case WR_REPLY_NOT_IMPLEMENTED:
        return "NOT_IMPLEMENTED";
    case WR_REPLY_INTERNAL_ERROR:
        return "INTERNAL_ERROR";
    }
    return "ERROR";
}

size_t
wr_reply_vformat(char *out, size_t cap, uint16_t code, const char *fmt,
                 va_list ap)
{
    int n = snprintf(out, cap, "%s - ", wr_reply_name(code));

    if (n < 0 || (size_t)n >= cap)
        return cap ? strlen(out) : 0;
    vsnprintf(out + n, cap - (size_t)n, fmt, ap);
    return strlen(out);
}
