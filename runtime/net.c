/* SPDX-License-Identifier: MIT */
/* Listener and address helpers: loopback addresses, a listener that
 * pauses when accept fails. */
#include "runtime_internal.h"

#include <arpa/inet.h>
#include <event2/listener.h>
#include <event2/util.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#define ACCEPT_PAUSE_MS 100 /* after EMFILE and the like */

bool
wr_addr_is_loopback(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        const uint8_t *a = in6->sin6_addr.s6_addr;
        static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0,    0,
                                             0, 0, 0, 0, 0xff, 0xff};
        if (IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr))
            return true;
        return memcmp(a, v4mapped, 12) == 0 && a[12] == 127;
    }
    return false;
}

static void
other_resume_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    evconnlistener_enable(arg);
}

static void
on_other_accept_error(struct evconnlistener *l, void *arg)
{
    static int64_t logged; /* monotonic seconds */
    struct timeval pause = {0, ACCEPT_PAUSE_MS * 1000};
    int err = EVUTIL_SOCKET_ERROR();

    (void)arg;
    if (wr_now() != logged) {
        logged = wr_now();
        wr_log(WR_LOG_WARN, "HTTP API: accept failed: %s; retrying every %d ms",
               evutil_socket_error_to_string(err), ACCEPT_PAUSE_MS);
    }
    evconnlistener_disable(l);
    event_base_once(evconnlistener_get_base(l), -1, EV_TIMEOUT, other_resume_cb,
                    l, &pause);
}

void
wr_listener_pause_on_error(struct evconnlistener *l)
{
    evconnlistener_set_error_cb(l, on_other_accept_error);
}
