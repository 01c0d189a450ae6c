/* SPDX-License-Identifier: MIT */
/* POST /api/queues/{vhost}/{name}/move: moves ready messages from the head
 * of one queue to the tail of another in the same vhost, unchanged (what
 * RabbitMQ's UI needs the shovel plugin for; warren only). */
#include "mgmt_internal.h"

#include <string.h>

/* Body: {"destination": QUEUE, "count": N} (count optional: every ready
 * message). Reply: {"moved": N}. Needs read on the source and write on the
 * destination, as consuming and publishing would. A destination that
 * refuses a message (x-overflow reject-publish) stops the move: that
 * message goes back to the head of the source, marked redelivered (with
 * reject-publish-dlx the destination dead-letters it, as it would a
 * publish). */
void
wr_mgmt_post_move(struct wr_mgmt_req *r)
{
    struct wr_vhost *vh = wr_mgmt_vhost(r, 1);
    json_t *body = vh ? wr_mgmt_body(r) : NULL;
    struct wr_bytes src_name = wr_mgmt_seg(r, 2), dst_name;
    struct wr_queue *src, *dst;
    const char *dest;
    size_t dest_len;
    int64_t count, now = wr_now_ms();
    struct wr_op_err err;
    struct wr_route_set set;
    uint64_t moved = 0;

    if (body == NULL)
        return;
    if (wr_mgmt_field_str(r, body, "destination", NULL, &dest, &dest_len) ||
        wr_mgmt_field_int(r, body, "count", -1, 0, INT64_MAX, &count))
        return;
    if (dest_len > 255) {
        wr_mgmt_error(r, 400, "bad_request",
                      "destination is longer than 255 bytes");
        return;
    }
    dst_name = (struct wr_bytes){(const uint8_t *)dest, (uint32_t)dest_len};
    if (!wr_mgmt_access(r, vh, WR_PERM_READ, "queue", src_name) ||
        !wr_mgmt_access(r, vh, WR_PERM_WRITE, "queue", dst_name))
        return;
    src = wr_vhost_queue(vh, src_name);
    if (src == NULL) {
        wr_mgmt_not_found(r);
        return;
    }
    dst = wr_vhost_queue(vh, dst_name);
    if (dst == NULL) {
        wr_mgmt_error(r, 404, "not_found",
                      "NOT_FOUND - no queue '%.*s' in vhost '%s'",
                      (int)dst_name.len, (const char *)dst_name.ptr, vh->name);
        return;
    }
    if (src == dst) {
        wr_mgmt_error(r, 400, "bad_request",
                      "the destination is the source queue");
        return;
    }
    if (wr_vhost_queue_check_access(vh, src, NULL, &err) != WR_OK ||
        wr_vhost_queue_check_access(vh, dst, NULL, &err) != WR_OK) {
        wr_mgmt_op_error(r, &err);
        return;
    }
    set.queues = &dst;
    set.count = set.cap = 1;
    while (count < 0 || moved < (uint64_t)count) {
        struct wr_delivery e;
        /* Taken from the source as a basic.get, acked once the destination
         * has it. */
        if (!wr_queue_get(src, now, false, &e))
            break;
        if (wr_vhost_enqueue(vh, e.msg, &set, now)) {
            /* reject-publish-dlx dead-lettered it there, as a publish */
            if (dst->eff.overflow == WR_OVERFLOW_REJECT_DLX) {
                wr_queue_settle(src, e.id, e.handle, WR_SETTLE_ACK, now);
            } else {
                wr_queue_settle(src, e.id, e.handle, WR_SETTLE_REQUEUE, now);
                wr_queue_dispatch(src, now);
            }
            break;
        }
        wr_queue_settle(src, e.id, e.handle, WR_SETTLE_ACK, now);
        moved++;
        if (dst->deleted)
            break;
    }
    wr_mgmt_reply(r, 200, json_pack("{s:I}", "moved", (json_int_t)moved));
}
