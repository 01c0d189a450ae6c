/* SPDX-License-Identifier: MIT */
/* Frame reader and writer (AMQP 0-9-1 section 4.2.3, General Frame Format)
 * and the protocol header check (section 4.2.2). */
#include "protocol_internal.h"

const uint8_t wr_heartbeat_frame[8] = {WR_FRAME_HEARTBEAT, 0, 0, 0, 0, 0, 0,
                                       WR_FRAME_END};

int
wr_proto_header_check(const uint8_t *buf, size_t len)
{
    size_t n = WR_MIN(len, (size_t)WR_PROTO_HEADER_LEN);

    if (memcmp(buf, WR_PROTO_HEADER, n) != 0)
        return WR_ERR_PROTO_HEADER;
    return n < WR_PROTO_HEADER_LEN ? WR_AGAIN : WR_OK;
}

int
wr_frame_decode(const uint8_t *buf, size_t len, uint32_t frame_max,
                struct wr_frame *f, size_t *consumed)
{
    uint32_t size;

    if (len < WR_FRAME_HEADER_SIZE)
        return WR_AGAIN;
    switch (buf[0]) {
    case WR_FRAME_METHOD:
    case WR_FRAME_HEADER:
    case WR_FRAME_BODY:
    case WR_FRAME_HEARTBEAT:
        break;
    default:
        return WR_ERR_FRAME_TYPE;
    }
    size = ((uint32_t)buf[3] << 24) | ((uint32_t)buf[4] << 16) |
           ((uint32_t)buf[5] << 8) | buf[6];
    /* frame-max bounds the whole frame, header and frame-end included;
     * below the spec minimum it is taken as the minimum. */
    if (frame_max != 0 && frame_max < WR_FRAME_MIN_SIZE)
        frame_max = WR_FRAME_MIN_SIZE;
    if (frame_max != 0 && size > frame_max - WR_FRAME_OVERHEAD)
        return WR_ERR_FRAME_SIZE;
    if (len - WR_FRAME_HEADER_SIZE < (size_t)size + 1)
        return WR_AGAIN;
    if (buf[WR_FRAME_HEADER_SIZE + size] != WR_FRAME_END)
        return WR_ERR_FRAME_END;
    f->type = buf[0];
    f->channel = (uint16_t)((buf[1] << 8) | buf[2]);
    f->size = size;
    f->payload = buf + WR_FRAME_HEADER_SIZE;
    *consumed = (size_t)size + WR_FRAME_OVERHEAD;
    return WR_OK;
}

void
wr_frame_header_encode(uint8_t *out, uint8_t type, uint16_t channel,
                       uint32_t size)
{
    out[0] = type;
    out[1] = (uint8_t)(channel >> 8);
    out[2] = (uint8_t)channel;
    out[3] = (uint8_t)(size >> 24);
    out[4] = (uint8_t)(size >> 16);
    out[5] = (uint8_t)(size >> 8);
    out[6] = (uint8_t)size;
}

int
wr_frame_encode(uint8_t *out, size_t cap, uint8_t type, uint16_t channel,
                const uint8_t *payload, uint32_t size, size_t *len)
{
    if (cap < WR_FRAME_OVERHEAD || size > cap - WR_FRAME_OVERHEAD)
        return WR_ERR_NOSPACE;
    wr_frame_header_encode(out, type, channel, size);
    if (size)
        memcpy(out + WR_FRAME_HEADER_SIZE, payload, size);
    out[WR_FRAME_HEADER_SIZE + size] = WR_FRAME_END;
    *len = (size_t)size + WR_FRAME_OVERHEAD;
    return WR_OK;
}
