/*
 * demo_netx_pop3_client.c - a POP3 client application in the shape of the
 * NetX Duo POP3 client guide's sample: ThreadX entry, a packet pool and an IP
 * instance, and a client thread that logs in, fetches every mail item packet
 * by packet, deletes it, and quits.
 *
 * Built against postie_netx it runs unchanged on a POSIX host; only the
 * server address, port and credentials (demo_settings.h) differ between a
 * target and the host. Prints what it does; exits when the thread is done.
 */
#include <stdio.h>
#include "tx_api.h"
#include "nx_api.h"
#include "nxd_pop3_client.h"
#include "demo_settings.h"

#define DEMO_STACK_SIZE     4096
#define PACKET_PAYLOAD      1500
#define PACKET_POOL_SIZE    (16 * (PACKET_PAYLOAD + sizeof(NX_PACKET)))

static TX_THREAD       demo_client_thread;
static NX_PACKET_POOL  client_packet_pool;
static NX_IP           client_ip;
static NX_POP3_CLIENT  demo_client;
static UINT            demo_result = 1;

VOID _nx_ram_network_driver(NX_IP_DRIVER *driver_req_ptr);
static VOID demo_thread_entry(ULONG info);

int main(void)
{
    tx_kernel_enter();
    return (int)demo_result;
}

VOID tx_application_define(VOID *first_unused_memory)
{
    UCHAR *free_memory = (UCHAR *)first_unused_memory;
    UINT status;

    nx_system_initialize();

    status = tx_thread_create(&demo_client_thread, "POP3 client", demo_thread_entry, 0,
                              free_memory, DEMO_STACK_SIZE, 4, 4, TX_NO_TIME_SLICE, TX_AUTO_START);
    free_memory += DEMO_STACK_SIZE;
    if (status != TX_SUCCESS) {
        printf("thread create failed: 0x%02x\n", status);
        return;
    }

    status = nx_packet_pool_create(&client_packet_pool, "POP3 client packet pool", PACKET_PAYLOAD,
                                   free_memory, PACKET_POOL_SIZE);
    free_memory += PACKET_POOL_SIZE;
    if (status != NX_SUCCESS) {
        printf("packet pool create failed: 0x%02x\n", status);
        return;
    }

    status = nx_ip_create(&client_ip, "POP3 client IP", IP_ADDRESS(192, 2, 2, 61), 0xFFFFFF00UL,
                          &client_packet_pool, _nx_ram_network_driver, free_memory, 2048, 1);
    free_memory += 2048;
    if (status != NX_SUCCESS) {
        printf("IP create failed: 0x%02x\n", status);
        return;
    }

    nx_arp_enable(&client_ip, (VOID *)free_memory, 1024);
    free_memory += 1024;
    nx_tcp_enable(&client_ip);
    nx_icmp_enable(&client_ip);
}

static VOID demo_thread_entry(ULONG info)
{
    UINT status, mail_count = 0, index, final_packet;
    ULONG total_size = 0, item_size, bytes_retrieved, fetched;
    NX_PACKET *packet;

    NX_PARAMETER_NOT_USED(info);

    /* Give the IP instance time to come up, as on a target. */
    tx_thread_sleep(NX_IP_PERIODIC_RATE / 10);

    status = nx_pop3_client_create(&demo_client, DEMO_APOP, &client_ip, &client_packet_pool,
                                   DEMO_SERVER_ADDRESS, DEMO_POP3_PORT, DEMO_USERNAME, DEMO_PASSWORD);
    if (status != NX_SUCCESS) {
        printf("POP3 client create failed: 0x%02x\n", status);
        return;
    }

    status = nx_pop3_client_mail_items_get(&demo_client, &mail_count, &total_size);
    if (status != NX_SUCCESS) {
        printf("mail items get failed: 0x%02x\n", status);
        nx_pop3_client_delete(&demo_client);
        return;
    }
    printf("maildrop: %u items, %lu bytes\n", mail_count, total_size);

    for (index = 1; index <= mail_count; index++) {
        status = nx_pop3_client_mail_item_size_get(&demo_client, index, &item_size);
        if (status != NX_SUCCESS) {
            printf("item %u: size get failed: 0x%02x\n", index, status);
            break;
        }
        status = nx_pop3_client_mail_item_get(&demo_client, index, &item_size);
        if (status != NX_SUCCESS) {
            printf("item %u: get failed: 0x%02x\n", index, status);
            break;
        }
        printf("item %u: %lu bytes\n", index, item_size);

        fetched = 0;
        final_packet = NX_FALSE;
        while (final_packet == NX_FALSE) {
            status = nx_pop3_client_mail_item_message_get(&demo_client, &packet, &bytes_retrieved,
                                                          &final_packet);
            if (status != NX_SUCCESS) {
                break;
            }
            fwrite(packet->nx_packet_prepend_ptr, 1, bytes_retrieved, stdout);
            fetched += bytes_retrieved;
            nx_packet_release(packet);
        }
        if (status != NX_SUCCESS) {
            printf("item %u: message get failed: 0x%02x\n", index, status);
            break;
        }
        printf("\nitem %u: received %lu bytes\n", index, fetched);

        status = nx_pop3_client_mail_item_delete(&demo_client, index);
        if (status != NX_SUCCESS) {
            printf("item %u: delete failed: 0x%02x\n", index, status);
            break;
        }
    }

    if (status == NX_SUCCESS) {
        status = nx_pop3_client_quit(&demo_client);
        printf("quit: 0x%02x\n", status);
    }
    nx_pop3_client_delete(&demo_client);
    demo_result = status == NX_SUCCESS ? 0 : 1;
}
