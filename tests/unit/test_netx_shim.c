/* postie_netx host shim: packet pool (carving, exhaustion, timed waits,
 * threads), packet data helpers, NX_IP, and the ThreadX kernel emulation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "nx_api.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static ULONG area[4096]; /* 32 KiB on LP64, aligned */

static void test_pool_carving(void **state)
{
    NX_PACKET_POOL pool;
    ULONG total, avail, req, susp, inval;
    NX_PACKET *p[64];
    ULONG payload = 200, size = 5000, i;
    ULONG expect = size / (ULONG)(sizeof(NX_PACKET) + payload);
    (void)state;

    memset(&pool, 0, sizeof pool);
    assert_int_equal(sizeof(NX_PACKET) % sizeof(void *), 0);
    assert_int_equal(nx_packet_pool_create(&pool, "p", payload, area, size), NX_SUCCESS);
    assert_int_equal(nx_packet_pool_create(&pool, "p", payload, area, size), NX_PTR_ERROR);
    assert_int_equal(nx_packet_pool_info_get(&pool, &total, &avail, &req, &susp, &inval), NX_SUCCESS);
    assert_int_equal(total, expect);
    assert_int_equal(avail, expect);
    assert_true(expect >= 2 && expect < 64);
    for (i = 0; i < expect; i++) {
        assert_int_equal(nx_packet_allocate(&pool, &p[i], NX_TCP_PACKET, NX_NO_WAIT), NX_SUCCESS);
        /* inside the caller's area, payload as asked, headers left in front */
        assert_true((UCHAR *)p[i] >= (UCHAR *)area);
        assert_true(p[i]->nx_packet_data_end <= (UCHAR *)area + size);
        assert_int_equal(p[i]->nx_packet_data_end - p[i]->nx_packet_data_start, payload);
        assert_ptr_equal(p[i]->nx_packet_prepend_ptr, p[i]->nx_packet_data_start + NX_TCP_PACKET);
        assert_ptr_equal(p[i]->nx_packet_append_ptr, p[i]->nx_packet_prepend_ptr);
        assert_int_equal(p[i]->nx_packet_length, 0);
        memset(p[i]->nx_packet_data_start, 0xAB, payload); /* must not hurt anything */
        if (i > 0) {
            assert_true(p[i] != p[i - 1]);
        }
    }
    assert_int_equal(nx_packet_allocate(&pool, &p[expect], NX_TCP_PACKET, NX_NO_WAIT), NX_NO_PACKET);
    assert_null(p[expect]);
    assert_int_equal(nx_packet_pool_info_get(&pool, NULL, &avail, &req, NULL, NULL), NX_SUCCESS);
    assert_int_equal(avail, 0);
    assert_int_equal(req, 1);
    for (i = 0; i < expect; i++) {
        assert_int_equal(nx_packet_release(p[i]), NX_SUCCESS);
    }
    assert_int_equal(nx_packet_release(p[0]), NX_INVALID_PACKET);
    assert_int_equal(nx_packet_release(NULL), NX_PTR_ERROR);
    assert_int_equal(nx_packet_pool_info_get(&pool, &total, &avail, NULL, NULL, &inval), NX_SUCCESS);
    assert_int_equal(avail, total);
    assert_int_equal(inval, 1);
    assert_int_equal(nx_packet_allocate(&pool, &p[0], payload + 1, NX_NO_WAIT), NX_INVALID_PARAMETERS);
    assert_int_equal(nx_packet_pool_delete(&pool), NX_SUCCESS);
    assert_int_equal(nx_packet_pool_delete(&pool), NX_PTR_ERROR);
    assert_int_equal(nx_packet_allocate(&pool, &p[0], 0, NX_NO_WAIT), NX_PTR_ERROR);
    /* too small for one packet */
    memset(&pool, 0, sizeof pool);
    assert_int_equal(nx_packet_pool_create(&pool, "p", payload, area, 100), NX_SIZE_ERROR);
}

static void test_pool_timed_wait(void **state)
{
    NX_PACKET_POOL pool;
    NX_PACKET *a, *b = NULL;
    ULONG susp;
    double t0, dt;
    (void)state;

    memset(&pool, 0, sizeof pool);
    assert_int_equal(nx_packet_pool_create(&pool, "one", 96,
                                           area, (ULONG)(sizeof(NX_PACKET) + 96)), NX_SUCCESS);
    assert_int_equal(nx_packet_allocate(&pool, &a, 0, NX_NO_WAIT), NX_SUCCESS);
    t0 = now_s();
    assert_int_equal(nx_packet_allocate(&pool, &b, 0, 20), NX_NO_PACKET); /* 20 ticks = 200 ms */
    dt = now_s() - t0;
    assert_true(dt >= 0.19);
    assert_true(dt < 2.0);
    assert_int_equal(nx_packet_pool_info_get(&pool, NULL, NULL, NULL, &susp, NULL), NX_SUCCESS);
    assert_int_equal(susp, 1);
    assert_int_equal(nx_packet_release(a), NX_SUCCESS);
    assert_int_equal(nx_packet_pool_delete(&pool), NX_SUCCESS);
}

struct releaser { NX_PACKET *p; ULONG ticks; };

static void *release_later(void *arg)
{
    struct releaser *r = arg;
    tx_thread_sleep(r->ticks);
    nx_packet_release(r->p);
    return NULL;
}

static void test_pool_wait_wakes_on_release(void **state)
{
    NX_PACKET_POOL pool;
    NX_PACKET *a, *b = NULL;
    pthread_t th;
    struct releaser r;
    double t0, dt;
    (void)state;

    memset(&pool, 0, sizeof pool);
    assert_int_equal(nx_packet_pool_create(&pool, "one", 64,
                                           area, (ULONG)(sizeof(NX_PACKET) + 64)), NX_SUCCESS);
    assert_int_equal(nx_packet_allocate(&pool, &a, 0, NX_NO_WAIT), NX_SUCCESS);
    r.p = a;
    r.ticks = 10;
    assert_int_equal(pthread_create(&th, NULL, release_later, &r), 0);
    t0 = now_s();
    assert_int_equal(nx_packet_allocate(&pool, &b, 0, NX_WAIT_FOREVER), NX_SUCCESS);
    dt = now_s() - t0;
    pthread_join(th, NULL);
    assert_ptr_equal(a, b);
    assert_true(dt >= 0.09);
    assert_true(dt < 5.0);
    /* a bounded wait long enough also gets it */
    r.p = b;
    r.ticks = 5;
    assert_int_equal(pthread_create(&th, NULL, release_later, &r), 0);
    assert_int_equal(nx_packet_allocate(&pool, &a, 0, 500), NX_SUCCESS);
    pthread_join(th, NULL);
    assert_int_equal(nx_packet_release(a), NX_SUCCESS);
    assert_int_equal(nx_packet_pool_delete(&pool), NX_SUCCESS);
}

static NX_PACKET_POOL shared_pool;

static void *hammer(void *arg)
{
    int i;
    (void)arg;
    for (i = 0; i < 20000; i++) {
        NX_PACKET *p;
        if (nx_packet_allocate(&shared_pool, &p, 0, NX_WAIT_FOREVER) != NX_SUCCESS) {
            return (void *)1;
        }
        p->nx_packet_append_ptr[0] = (UCHAR)i;
        if (nx_packet_release(p) != NX_SUCCESS) {
            return (void *)1;
        }
    }
    return NULL;
}

static void test_pool_threads(void **state)
{
    pthread_t th[6];
    ULONG total, avail;
    int i;
    (void)state;

    memset(&shared_pool, 0, sizeof shared_pool);
    /* fewer packets than threads: they have to wait for each other */
    assert_int_equal(nx_packet_pool_create(&shared_pool, "shared", 32, area,
                                           (ULONG)(3 * (sizeof(NX_PACKET) + 32))), NX_SUCCESS);
    for (i = 0; i < 6; i++) {
        assert_int_equal(pthread_create(&th[i], NULL, hammer, NULL), 0);
    }
    for (i = 0; i < 6; i++) {
        void *rv;
        pthread_join(th[i], &rv);
        assert_null(rv);
    }
    assert_int_equal(nx_packet_pool_info_get(&shared_pool, &total, &avail, NULL, NULL, NULL), NX_SUCCESS);
    assert_int_equal(total, 3);
    assert_int_equal(avail, 3);
    assert_int_equal(nx_packet_pool_delete(&shared_pool), NX_SUCCESS);
}

static void test_packet_data(void **state)
{
    NX_PACKET_POOL pool;
    NX_PACKET *p;
    char text[100], out[128];
    ULONG n = 99, avail;
    int i;
    (void)state;

    for (i = 0; i < 100; i++) {
        text[i] = (char)('a' + i % 26);
    }
    memset(&pool, 0, sizeof pool);
    assert_int_equal(nx_packet_pool_create(&pool, "small", 40, area, sizeof area), NX_SUCCESS);
    assert_int_equal(nx_packet_allocate(&pool, &p, 0, NX_NO_WAIT), NX_SUCCESS);
    assert_int_equal(nx_packet_data_retrieve(p, out, &n), NX_INVALID_PACKET);
    assert_int_equal(n, 0);
    assert_int_equal(nx_packet_data_append(p, text, 100, &pool, NX_NO_WAIT), NX_SUCCESS);
    assert_int_equal(p->nx_packet_length, 100);
    assert_non_null(p->nx_packet_next); /* 40 + 40 + 20 */
    assert_int_equal(nx_packet_data_retrieve(p, out, &n), NX_SUCCESS);
    assert_int_equal(n, 100);
    assert_memory_equal(out, text, 100);
    assert_int_equal(nx_packet_release(p), NX_SUCCESS); /* the whole chain */
    assert_int_equal(nx_packet_pool_info_get(&pool, NULL, &avail, NULL, NULL, NULL), NX_SUCCESS);
    assert_int_equal(avail, pool.nx_packet_pool_total);
    assert_int_equal(nx_packet_pool_delete(&pool), NX_SUCCESS);
}

static void test_ip(void **state)
{
    NX_IP ip;
    NX_PACKET_POOL pool;
    NX_IP_DRIVER req;
    static ULONG arp[64];
    (void)state;

    assert_int_equal(IP_ADDRESS(192, 168, 1, 2), 0xC0A80102UL);
    memset(&pool, 0, sizeof pool);
    memset(&ip, 0, sizeof ip);
    assert_int_equal(nx_packet_pool_create(&pool, "ip", 256, area, sizeof area), NX_SUCCESS);
    assert_int_equal(nx_ip_create(&ip, "ip", IP_ADDRESS(1, 2, 3, 4), 0xFFFFFF00UL, &pool,
                                  _nx_ram_network_driver, area, 1024, 1), NX_SUCCESS);
    assert_int_equal(nx_ip_create(&ip, "ip", 0, 0, &pool, _nx_ram_network_driver, area, 1024, 1),
                     NX_PTR_ERROR);
    assert_int_equal(nx_arp_enable(&ip, arp, sizeof arp), NX_SUCCESS);
    assert_int_equal(nx_tcp_enable(&ip), NX_SUCCESS);
    assert_int_equal(nx_tcp_enable(&ip), NX_ALREADY_ENABLED);
    assert_int_equal(nx_icmp_enable(&ip), NX_SUCCESS);
    assert_int_equal(ip.nx_ip_address, IP_ADDRESS(1, 2, 3, 4));
    req.nx_ip_driver_status = 99;
    _nx_ram_network_driver(&req);
    assert_int_equal(req.nx_ip_driver_status, NX_SUCCESS);
    assert_int_equal(nx_ip_delete(&ip), NX_SUCCESS);
    assert_int_equal(nx_ip_delete(&ip), NX_PTR_ERROR);
    assert_int_equal(nx_packet_pool_delete(&pool), NX_SUCCESS);
}

/* ThreadX emulation: tx_application_define creates an auto-started thread and
 * a held one; the first resumes the second; tx_kernel_enter returns when both
 * have run to the end. */
static TX_THREAD t_first, t_second, t_never;
static volatile int first_done, second_done, never_ran;
static void *define_memory;
static int second_resume_status = -1;

static void second_entry(ULONG input)
{
    tx_thread_sleep(5);
    second_done = (int)input;
}

static void first_entry(ULONG input)
{
    (void)input;
    second_resume_status = (int)tx_thread_resume(&t_second);
    tx_thread_sleep(2);
    first_done = 1;
}

static void never_entry(ULONG input)
{
    (void)input;
    never_ran = 1;
}

VOID tx_application_define(VOID *first_unused_memory)
{
    UCHAR *mem = first_unused_memory;
    define_memory = first_unused_memory;
    mem[0] = 1; /* writable */
    mem[TX_HOST_MEMORY_SIZE - 1] = 1;
    tx_thread_create(&t_first, "first", first_entry, 0, mem, 4096, 4, 4, TX_NO_TIME_SLICE, TX_AUTO_START);
    tx_thread_create(&t_second, "second", second_entry, 42, mem + 4096, 4096, 4, 4, TX_NO_TIME_SLICE,
                     TX_DONT_START);
    tx_thread_create(&t_never, "never", never_entry, 0, mem + 8192, 4096, 4, 4, TX_NO_TIME_SLICE,
                     TX_DONT_START);
}

static void test_kernel(void **state)
{
    ULONG t0;
    (void)state;
    t0 = tx_time_get();
    tx_kernel_enter();
    assert_non_null(define_memory);
    assert_int_equal(first_done, 1);
    assert_int_equal(second_done, 42);
    assert_int_equal(never_ran, 0);
    assert_int_equal(second_resume_status, TX_SUCCESS);
    assert_true(tx_time_get() - t0 >= 5);
    assert_int_equal(tx_thread_resume(&t_first), TX_RESUME_ERROR);
    assert_int_equal(tx_thread_create(&t_first, "again", first_entry, 0, area, 4096, 4, 4, 0,
                                      TX_DONT_START), TX_THREAD_ERROR);
    assert_int_equal(tx_thread_delete(&t_first), TX_SUCCESS);
    assert_int_equal(tx_thread_delete(&t_first), TX_THREAD_ERROR);
    assert_int_equal(tx_thread_delete(&t_second), TX_SUCCESS);
    assert_int_equal(tx_thread_delete(&t_never), TX_SUCCESS);
    assert_int_equal(tx_thread_create(&t_first, "bad", NULL, 0, area, 4096, 4, 4, 0, TX_AUTO_START),
                     TX_PTR_ERROR);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pool_carving),
        cmocka_unit_test(test_pool_timed_wait),
        cmocka_unit_test(test_pool_wait_wakes_on_release),
        cmocka_unit_test(test_pool_threads),
        cmocka_unit_test(test_packet_data),
        cmocka_unit_test(test_ip),
        cmocka_unit_test(test_kernel),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
