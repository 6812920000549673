/*
 * demo_netx_smtp_client.c - an SMTP client application in the shape of the
 * NetX Duo SMTP client guide's sample: ThreadX entry, a packet pool and an IP
 * instance, and a client thread that sends one mail.
 *
 * Built against postie_netx it runs unchanged on a POSIX host; only the
 * server address, port and credentials (demo_settings.h) differ between a
 * target and the host.
 */
#include <stdio.h>
#include <string.h>
#include "tx_api.h"
#include "nx_api.h"
#include "nxd_smtp_client.h"
#include "demo_settings.h"

#define DEMO_STACK_SIZE     4096
#define PACKET_PAYLOAD      1500
#define PACKET_POOL_SIZE    (10 * (PACKET_PAYLOAD + sizeof(NX_PACKET)))
#define CLIENT_DOMAIN       "client.postie.test"

#define MAIL_BODY  "NetX Duo SMTP client demo.\r\n"                        \
                   "A line with a dot follows:\r\n"                        \
                   ".\r\n"                                                 \
                   "and the mail goes on after it.\r\n"

static TX_THREAD       demo_client_thread;
static NX_PACKET_POOL  client_packet_pool;
static NX_IP           client_ip;
static NX_SMTP_CLIENT  demo_client;
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

    status = tx_thread_create(&demo_client_thread, "SMTP client", demo_thread_entry, 0,
                              free_memory, DEMO_STACK_SIZE, 4, 4, TX_NO_TIME_SLICE, TX_AUTO_START);
    free_memory += DEMO_STACK_SIZE;
    if (status != TX_SUCCESS) {
        printf("thread create failed: 0x%02x\n", status);
        return;
    }

    status = nx_packet_pool_create(&client_packet_pool, "SMTP client packet pool", PACKET_PAYLOAD,
                                   free_memory, PACKET_POOL_SIZE);
    free_memory += PACKET_POOL_SIZE;
    if (status != NX_SUCCESS) {
        printf("packet pool create failed: 0x%02x\n", status);
        return;
    }

    status = nx_ip_create(&client_ip, "SMTP client IP", IP_ADDRESS(192, 2, 2, 61), 0xFFFFFF00UL,
                          &client_packet_pool, _nx_ram_network_driver, free_memory, 2048, 1);
    free_memory += 2048;
    if (status != NX_SUCCESS) {
        printf("IP create failed: 0x%02x\n", status);
        return;
    }

    nx_arp_enable(&client_ip, (VOID *)free_memory, 1024);
    free_memory += 1024;
    nx_tcp_enable(&client_ip);
}

static VOID demo_thread_entry(ULONG info)
{
    UINT status;
    NXD_ADDRESS server_ip_address;

    NX_PARAMETER_NOT_USED(info);

    tx_thread_sleep(NX_IP_PERIODIC_RATE / 10);

    server_ip_address.nxd_ip_version = NX_IP_VERSION_V4;
    server_ip_address.nxd_ip_address.v4 = DEMO_SERVER_ADDRESS;

    status = nxd_smtp_client_create(&demo_client, &client_ip, &client_packet_pool,
                                    DEMO_USERNAME, DEMO_PASSWORD, DEMO_FROM_ADDRESS, CLIENT_DOMAIN,
                                    NX_SMTP_CLIENT_AUTH_PLAIN, &server_ip_address, DEMO_SMTP_PORT);
    if (status != NX_SUCCESS) {
        printf("SMTP client create failed: 0x%02x\n", status);
        return;
    }

    status = nx_smtp_mail_send(&demo_client, DEMO_RECIPIENT, NX_SMTP_MAIL_PRIORITY_NORMAL,
                               DEMO_SUBJECT, MAIL_BODY, (UINT)strlen(MAIL_BODY));
    printf("mail send: 0x%02x (server reply %u)\n", status,
           demo_client.nx_smtp_client_reply_code_status);
    demo_result = status == NX_SUCCESS ? 0 : 1;

    nx_smtp_client_delete(&demo_client);
}
