/*
 * The "hardware" entropy source mbed TLS polls (MBEDTLS_ENTROPY_HARDWARE_ALT).
 *
 * NOT FOR PRODUCTION. QEMU's mps2-an386 has no TRNG, so this mixes what the
 * board can see that varies or differs between devices: the host's wall
 * clock at boot (semihosting SYS_TIME, seconds), the milliseconds since
 * boot and the SysTick down-counter (the emulator's timing jitter: a few
 * bits at best), the MAC address (device-unique on real hardware, QEMU's
 * default otherwise) and a counter, through SHA-256. Someone who knows the
 * boot second and the MAC can guess the rest in a small search: the TLS keys
 * of this firmware are only as secret as that. A real board reads its TRNG
 * here (STM32 RNG, NXP TRNG, nRF RNG, ...), or a device-unique seed
 * provisioned in flash feeds a DRBG whose state survives reboots.
 */
#include <stdint.h>
#include <string.h>
#include "board.h"
#include "postie/sha256.h"

int mbedtls_hardware_poll(void *data, unsigned char *output, size_t len, size_t *olen);

static const unsigned char *seed_mac;
static int64_t seed_boot;
static uint32_t counter;

void entropy_set_device(const unsigned char mac[6], int64_t boot_time)
{
    seed_mac = mac;
    seed_boot = boot_time;
}

unsigned board_rand32(void)
{
    unsigned char out[4];
    size_t n;
    (void)mbedtls_hardware_poll(NULL, out, sizeof out, &n);
    return (unsigned)out[0] | (unsigned)out[1] << 8 | (unsigned)out[2] << 16 |
           (unsigned)out[3] << 24;
}

int mbedtls_hardware_poll(void *data, unsigned char *output, size_t len, size_t *olen)
{
    size_t done = 0;

    (void)data;
    while (done < len) {
        postie_sha256_ctx h;
        unsigned char d[POSTIE_SHA256_DIGEST_LEN];
        uint32_t now = board_ms();
        uint32_t tick = *(volatile uint32_t *)0xE000E018u; /* SysTick current value */
        size_t k = len - done < sizeof d ? len - done : sizeof d;

        counter++;
        postie_sha256_init(&h);
        postie_sha256_update(&h, &seed_boot, sizeof seed_boot);
        if (seed_mac != NULL) {
            postie_sha256_update(&h, seed_mac, 6);
        }
        postie_sha256_update(&h, &now, sizeof now);
        postie_sha256_update(&h, &tick, sizeof tick);
        postie_sha256_update(&h, &counter, sizeof counter);
        postie_sha256_final(&h, d);
        memcpy(output + done, d, k);
        done += k;
    }
    *olen = len;
    return 0;
}
