/* NetX packet pool shim: packets carved from the caller's memory, one mutex
 * and one condition variable per pool, timed waits when the pool is empty. */
#include "nx_api.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#define ALIGN_UP(v, a) (((v) + ((a) - 1)) / (a) * (a))

VOID nx_system_initialize(VOID)
{
}

static size_t packet_stride(ULONG payload)
{
    return ALIGN_UP(sizeof(NX_PACKET), sizeof(void *)) + ALIGN_UP((size_t)payload, sizeof(ULONG));
}

UINT nx_packet_pool_create(NX_PACKET_POOL *pool_ptr, CHAR *name, ULONG payload_size,
                           VOID *memory_ptr, ULONG memory_size)
{
    uintptr_t start, end;
    size_t stride, count, i;
    ULONG payload;

    if (pool_ptr == NULL || memory_ptr == NULL || pool_ptr->nx_packet_pool_id == NX_PACKET_POOL_ID) {
        return NX_PTR_ERROR;
    }
    if (payload_size == 0) {
        return NX_SIZE_ERROR;
    }
    payload = (ULONG)ALIGN_UP((size_t)payload_size, sizeof(ULONG));
    stride = packet_stride(payload_size);
    start = ALIGN_UP((uintptr_t)memory_ptr, sizeof(void *));
    end = (uintptr_t)memory_ptr + memory_size;
    if (start >= end || (end - start) < stride) {
        return NX_SIZE_ERROR;
    }
    count = (size_t)(end - start) / stride;

    memset(pool_ptr, 0, sizeof *pool_ptr);
    if (pthread_mutex_init(&pool_ptr->nx_packet_pool_host_mutex, NULL) != 0) {
        return NX_POOL_ERROR;
    }
    {
        pthread_condattr_t ca;
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        if (pthread_cond_init(&pool_ptr->nx_packet_pool_host_cond, &ca) != 0) {
            pthread_condattr_destroy(&ca);
            pthread_mutex_destroy(&pool_ptr->nx_packet_pool_host_mutex);
            return NX_POOL_ERROR;
        }
        pthread_condattr_destroy(&ca);
    }
    pool_ptr->nx_packet_pool_name = name;
    pool_ptr->nx_packet_pool_start = (CHAR *)memory_ptr;
    pool_ptr->nx_packet_pool_size = memory_size;
    pool_ptr->nx_packet_pool_payload_size = payload;
    pool_ptr->nx_packet_pool_total = (ULONG)count;
    pool_ptr->nx_packet_pool_available = (ULONG)count;
    /* Build the free list in address order. */
    for (i = count; i-- > 0;) {
        NX_PACKET *p = (NX_PACKET *)(start + i * stride);
        memset(p, 0, sizeof *p);
        p->nx_packet_pool_owner = pool_ptr;
        p->nx_packet_data_start = (UCHAR *)p + ALIGN_UP(sizeof(NX_PACKET), sizeof(void *));
        p->nx_packet_data_end = p->nx_packet_data_start + payload;
        p->nx_packet_queue_next = pool_ptr->nx_packet_pool_available_list;
        pool_ptr->nx_packet_pool_available_list = p;
    }
    pool_ptr->nx_packet_pool_id = NX_PACKET_POOL_ID;
    return NX_SUCCESS;
}

UINT nx_packet_pool_delete(NX_PACKET_POOL *pool_ptr)
{
    if (pool_ptr == NULL || pool_ptr->nx_packet_pool_id != NX_PACKET_POOL_ID) {
        return NX_PTR_ERROR;
    }
    pthread_mutex_lock(&pool_ptr->nx_packet_pool_host_mutex);
    pool_ptr->nx_packet_pool_id = 0;
    pthread_cond_broadcast(&pool_ptr->nx_packet_pool_host_cond);
    while (pool_ptr->nx_packet_pool_host_waiters > 0) {
        /* The waiters see the id cleared and leave; wait until they have. */
        pthread_cond_wait(&pool_ptr->nx_packet_pool_host_cond, &pool_ptr->nx_packet_pool_host_mutex);
    }
    pthread_mutex_unlock(&pool_ptr->nx_packet_pool_host_mutex);
    pthread_cond_destroy(&pool_ptr->nx_packet_pool_host_cond);
    pthread_mutex_destroy(&pool_ptr->nx_packet_pool_host_mutex);
    pool_ptr->nx_packet_pool_available_list = NULL;
    return NX_SUCCESS;
}

UINT nx_packet_pool_info_get(NX_PACKET_POOL *pool_ptr, ULONG *total_packets, ULONG *free_packets,
                             ULONG *empty_pool_requests, ULONG *empty_pool_suspensions,
                             ULONG *invalid_packet_releases)
{
    if (pool_ptr == NULL || pool_ptr->nx_packet_pool_id != NX_PACKET_POOL_ID) {
        return NX_PTR_ERROR;
    }
    pthread_mutex_lock(&pool_ptr->nx_packet_pool_host_mutex);
    if (total_packets) *total_packets = pool_ptr->nx_packet_pool_total;
    if (free_packets) *free_packets = pool_ptr->nx_packet_pool_available;
    if (empty_pool_requests) *empty_pool_requests = pool_ptr->nx_packet_pool_empty_requests;
    if (empty_pool_suspensions) *empty_pool_suspensions = pool_ptr->nx_packet_pool_empty_suspensions;
    if (invalid_packet_releases) *invalid_packet_releases = pool_ptr->nx_packet_pool_invalid_releases;
    pthread_mutex_unlock(&pool_ptr->nx_packet_pool_host_mutex);
    return NX_SUCCESS;
}

static void deadline_after_ticks(struct timespec *ts, ULONG ticks)
{
    unsigned long long ns = (unsigned long long)ticks * (1000000000ULL / TX_TIMER_TICKS_PER_SECOND);
    clock_gettime(CLOCK_MONOTONIC, ts);
    ns += (unsigned long long)ts->tv_nsec;
    ts->tv_sec += (time_t)(ns / 1000000000ULL);
    ts->tv_nsec = (long)(ns % 1000000000ULL);
}

UINT nx_packet_allocate(NX_PACKET_POOL *pool_ptr, NX_PACKET **packet_ptr, ULONG packet_type,
                        ULONG wait_option)
{
    NX_PACKET *p;
    struct timespec deadline;
    UINT status = NX_SUCCESS;

    if (packet_ptr != NULL) {
        *packet_ptr = NULL;
    }
    if (pool_ptr == NULL || packet_ptr == NULL || pool_ptr->nx_packet_pool_id != NX_PACKET_POOL_ID) {
        return NX_PTR_ERROR;
    }
    if (packet_type > pool_ptr->nx_packet_pool_payload_size) {
        return NX_INVALID_PARAMETERS;
    }
    pthread_mutex_lock(&pool_ptr->nx_packet_pool_host_mutex);
    if (pool_ptr->nx_packet_pool_available_list == NULL) {
        pool_ptr->nx_packet_pool_empty_requests++;
        if (wait_option != NX_NO_WAIT) {
            pool_ptr->nx_packet_pool_empty_suspensions++;
            if (wait_option != NX_WAIT_FOREVER) {
                deadline_after_ticks(&deadline, wait_option);
            }
            pool_ptr->nx_packet_pool_host_waiters++;
            while (pool_ptr->nx_packet_pool_available_list == NULL &&
                   pool_ptr->nx_packet_pool_id == NX_PACKET_POOL_ID) {
                int rc;
                if (wait_option == NX_WAIT_FOREVER) {
                    rc = pthread_cond_wait(&pool_ptr->nx_packet_pool_host_cond,
                                           &pool_ptr->nx_packet_pool_host_mutex);
                } else {
                    rc = pthread_cond_timedwait(&pool_ptr->nx_packet_pool_host_cond,
                                                &pool_ptr->nx_packet_pool_host_mutex, &deadline);
                }
                if (rc == ETIMEDOUT) {
                    break;
                }
            }
            pool_ptr->nx_packet_pool_host_waiters--;
            if (pool_ptr->nx_packet_pool_id != NX_PACKET_POOL_ID) {
                /* Deleted while we waited: let nx_packet_pool_delete finish. */
                pthread_cond_broadcast(&pool_ptr->nx_packet_pool_host_cond);
                pthread_mutex_unlock(&pool_ptr->nx_packet_pool_host_mutex);
                return NX_POOL_DELETED;
            }
        }
    }
    p = pool_ptr->nx_packet_pool_available_list;
    if (p == NULL) {
        status = NX_NO_PACKET;
    } else {
        pool_ptr->nx_packet_pool_available_list = p->nx_packet_queue_next;
        pool_ptr->nx_packet_pool_available--;
        p->nx_packet_queue_next = NULL;
        p->nx_packet_next = NULL;
        p->nx_packet_last = NULL;
        p->nx_packet_length = 0;
        p->nx_packet_prepend_ptr = p->nx_packet_data_start + packet_type;
        p->nx_packet_append_ptr = p->nx_packet_prepend_ptr;
        p->nx_packet_host_allocated = NX_TRUE;
        *packet_ptr = p;
    }
    pthread_mutex_unlock(&pool_ptr->nx_packet_pool_host_mutex);
    return status;
}

UINT nx_packet_release(NX_PACKET *packet_ptr)
{
    NX_PACKET *p = packet_ptr;

    if (p == NULL || p->nx_packet_pool_owner == NULL ||
        p->nx_packet_pool_owner->nx_packet_pool_id != NX_PACKET_POOL_ID) {
        return NX_PTR_ERROR;
    }
    while (p != NULL) {
        NX_PACKET_POOL *pool = p->nx_packet_pool_owner;
        NX_PACKET *next = p->nx_packet_next;
        pthread_mutex_lock(&pool->nx_packet_pool_host_mutex);
        if (p->nx_packet_host_allocated != NX_TRUE) {
            pool->nx_packet_pool_invalid_releases++;
            pthread_mutex_unlock(&pool->nx_packet_pool_host_mutex);
            return NX_INVALID_PACKET;
        }
        p->nx_packet_host_allocated = NX_FALSE;
        p->nx_packet_next = NULL;
        p->nx_packet_last = NULL;
        p->nx_packet_length = 0;
        p->nx_packet_queue_next = pool->nx_packet_pool_available_list;
        pool->nx_packet_pool_available_list = p;
        pool->nx_packet_pool_available++;
        if (pool->nx_packet_pool_host_waiters > 0) {
            pthread_cond_broadcast(&pool->nx_packet_pool_host_cond);
        }
        pthread_mutex_unlock(&pool->nx_packet_pool_host_mutex);
        p = next;
    }
    return NX_SUCCESS;
}

UINT nx_packet_data_retrieve(NX_PACKET *packet_ptr, VOID *buffer_start, ULONG *bytes_copied)
{
    UCHAR *out = (UCHAR *)buffer_start;
    ULONG total = 0;
    NX_PACKET *p;

    if (packet_ptr == NULL || buffer_start == NULL || bytes_copied == NULL) {
        return NX_PTR_ERROR;
    }
    *bytes_copied = 0;
    if (packet_ptr->nx_packet_length == 0) {
        return NX_INVALID_PACKET;
    }
    for (p = packet_ptr; p != NULL && total < packet_ptr->nx_packet_length; p = p->nx_packet_next) {
        ULONG n = (ULONG)(p->nx_packet_append_ptr - p->nx_packet_prepend_ptr);
        if (n > packet_ptr->nx_packet_length - total) {
            n = packet_ptr->nx_packet_length - total;
        }
        memcpy(out + total, p->nx_packet_prepend_ptr, n);
        total += n;
    }
    *bytes_copied = total;
    return NX_SUCCESS;
}

UINT nx_packet_data_append(NX_PACKET *packet_ptr, VOID *data_start, ULONG data_size,
                           NX_PACKET_POOL *pool_ptr, ULONG wait_option)
{
    const UCHAR *in = (const UCHAR *)data_start;
    NX_PACKET *last;

    if (packet_ptr == NULL || pool_ptr == NULL || (data_start == NULL && data_size > 0)) {
        return NX_PTR_ERROR;
    }
    last = packet_ptr->nx_packet_last ? packet_ptr->nx_packet_last : packet_ptr;
    while (data_size > 0) {
        ULONG room = (ULONG)(last->nx_packet_data_end - last->nx_packet_append_ptr);
        ULONG n;
        if (room == 0) {
            NX_PACKET *more;
            UINT st = nx_packet_allocate(pool_ptr, &more, NX_RECEIVE_PACKET, wait_option);
            if (st != NX_SUCCESS) {
                return st;
            }
            last->nx_packet_next = more;
            last = more;
            packet_ptr->nx_packet_last = more;
            continue;
        }
        n = data_size < room ? data_size : room;
        memcpy(last->nx_packet_append_ptr, in, n);
        last->nx_packet_append_ptr += n;
        packet_ptr->nx_packet_length += n;
        in += n;
        data_size -= n;
    }
    return NX_SUCCESS;
}
