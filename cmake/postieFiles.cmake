# Source and include lists of Postie, for builds that do not use CMake
# (firmware projects: add these files and folders to your own build).
# Paths are absolute, made from POSTIE_ROOT (the folder holding this
# repository; set it before including this file to point elsewhere).
#
#   POSTIE_CORE_SOURCES    src/core: no I/O, no allocation, no OS header. The
#                          status list, line framer, transport helpers, the
#                          connection engine (conn.c: command queue, reply
#                          framing and matching), the POP3 and SMTP protocol
#                          parsers (pop3_proto.c, smtp_proto.c), the one SASL
#                          exchange and its mechanisms (sasl_exchange.c,
#                          sasl.c, scram.c), base64, MD5/HMAC, SHA-256, the
#                          message composer, the TLS policy check. Always
#                          needed.
#   POSTIE_POP3_SOURCES    POP3: the session engine (src/core/pop3_session.c,
#                          no I/O) and the blocking client over a
#                          postie_transport (src/pop3/pop3.c). Needs the core.
#   POSTIE_SMTP_SOURCES    SMTP: the session engine (src/core/smtp_session.c,
#                          no I/O) and the blocking client over a
#                          postie_transport (src/smtp/smtp.c). Needs the core
#                          (the composer it uses is there).
#   POSTIE_RAWCB_SOURCES   src/drivers/rawcb.c: the callback driver for TCP
#                          stacks shaped like lwIP's raw API (rawcb.h; no
#                          I/O, no allocation; docs/event-loop.md). Optional.
#   POSTIE_INCLUDE_DIRS    include/: the headers of the lists above
#                          (postie/status.h, transport.h, pop3.h, smtp.h,
#                          postie_config_defaults.h, ...). A firmware build
#                          needs only this folder (and its own port).
#
#   POSTIE_POSIX_SOURCES   ports/posix, hosts only: the TCP transport
#                          (getaddrinfo, IPv4+IPv6, poll() deadlines), the
#                          shared poll() wait, random bytes from /dev/urandom,
#                          a millisecond clock (CLOCK_MONOTONIC).
#   POSTIE_TLS_OPENSSL_SOURCES  ports/posix, hosts with OpenSSL: the OpenSSL
#                          transport (postie_openssl_*) and its deprecated
#                          0.1 names (postie_tls_*); link libssl, libcrypto
#                          and pthread.
#   POSTIE_POSIX_INCLUDE_DIRS   ports/posix/include: the port's public
#                          headers (postie/posix_tcp.h, posix_tls.h,
#                          posix_random.h, posix_clock.h), installed beside
#                          the others in include/postie.
#
#   POSTIE_TLS_MBEDTLS_SOURCES  ports/mbedtls: the mbed TLS transport
#                          (postie_mbedtls_*) over any postie_transport; no OS
#                          header, no global state: for firmware and hosts.
#                          Link mbed TLS (mbedtls, mbedx509, mbedcrypto).
#   POSTIE_TLS_MBEDTLS_INCLUDE_DIRS  ports/mbedtls/include: its header
#                          (postie/mbedtls_tls.h).
#
#   POSTIE_LWIP_SOURCES    ports/lwip: one session over an lwIP raw-API pcb
#                          under the rawcb driver, STLS/STARTTLS through the
#                          mbed TLS transport (postie/lwip_raw.h;
#                          docs/porting.md section 10). Needs the rawcb and
#                          mbed TLS lists, and lwIP's headers on the path.
#   POSTIE_LWIP_INCLUDE_DIRS  ports/lwip/include: its header.
#
#   POSTIE_NETX_SOURCES, POSTIE_NETX_INCLUDE_DIRS: see the end of this file.

if(NOT DEFINED POSTIE_ROOT)
  get_filename_component(POSTIE_ROOT "${CMAKE_CURRENT_LIST_DIR}/.." ABSOLUTE)
endif()

set(POSTIE_CORE_SOURCES
  ${POSTIE_ROOT}/src/core/status.c
  ${POSTIE_ROOT}/src/core/line.c
  ${POSTIE_ROOT}/src/core/decimal.c
  ${POSTIE_ROOT}/src/core/wipe.c
  ${POSTIE_ROOT}/src/core/transport.c
  ${POSTIE_ROOT}/src/core/base64.c
  ${POSTIE_ROOT}/src/core/md5.c
  ${POSTIE_ROOT}/src/core/pop3_proto.c
  ${POSTIE_ROOT}/src/core/sha256.c
  ${POSTIE_ROOT}/src/core/scram.c
  ${POSTIE_ROOT}/src/core/base64_stream.c
  ${POSTIE_ROOT}/src/core/compose.c
  ${POSTIE_ROOT}/src/core/smtp_proto.c
  ${POSTIE_ROOT}/src/core/sasl.c
  ${POSTIE_ROOT}/src/core/security.c
  ${POSTIE_ROOT}/src/core/conn.c
  ${POSTIE_ROOT}/src/core/sasl_exchange.c
)

set(POSTIE_POP3_SOURCES
  ${POSTIE_ROOT}/src/core/pop3_session.c
  ${POSTIE_ROOT}/src/pop3/pop3.c
)

set(POSTIE_SMTP_SOURCES
  ${POSTIE_ROOT}/src/core/smtp_session.c
  ${POSTIE_ROOT}/src/smtp/smtp.c
)

set(POSTIE_RAWCB_SOURCES
  ${POSTIE_ROOT}/src/drivers/rawcb.c
)

set(POSTIE_POSIX_SOURCES
  ${POSTIE_ROOT}/ports/posix/tcp.c
  ${POSTIE_ROOT}/ports/posix/posix_wait.c
  ${POSTIE_ROOT}/ports/posix/random.c
  ${POSTIE_ROOT}/ports/posix/clock.c
)

set(POSTIE_TLS_OPENSSL_SOURCES
  ${POSTIE_ROOT}/ports/posix/tls_openssl.c
  ${POSTIE_ROOT}/ports/posix/tls_openssl_compat.c
)

set(POSTIE_TLS_MBEDTLS_SOURCES
  ${POSTIE_ROOT}/ports/mbedtls/tls_mbedtls.c
)

set(POSTIE_TLS_MBEDTLS_INCLUDE_DIRS
  ${POSTIE_ROOT}/ports/mbedtls/include
)

set(POSTIE_LWIP_SOURCES
  ${POSTIE_ROOT}/ports/lwip/lwip_raw.c
)

set(POSTIE_LWIP_INCLUDE_DIRS
  ${POSTIE_ROOT}/ports/lwip/include
)

set(POSTIE_INCLUDE_DIRS
  ${POSTIE_ROOT}/include
)

set(POSTIE_POSIX_INCLUDE_DIRS
  ${POSTIE_ROOT}/ports/posix/include
)

# NetX Duo compatibility layer (compat/netx, library postie_netx): POSIX hosts
# only (POSIX threads and the host's TCP); needs the core, POP3, SMTP and
# POSIX sources above, with POSTIE_INCLUDE_DIRS and POSTIE_POSIX_INCLUDE_DIRS.
# Its TLS calls (nx_postie_tls.h) need POSTIE_TLS_OPENSSL_SOURCES and
# POSTIE_HAVE_OPENSSL=1 defined when compiling these files; without them they
# return NX_POSTIE_TLS_NOT_AVAILABLE.
set(POSTIE_NETX_SOURCES
  ${POSTIE_ROOT}/compat/netx/nx_packet.c
  ${POSTIE_ROOT}/compat/netx/nx_ip.c
  ${POSTIE_ROOT}/compat/netx/tx_thread.c
  ${POSTIE_ROOT}/compat/netx/nx_pop3_client.c
  ${POSTIE_ROOT}/compat/netx/nx_smtp_client.c
  ${POSTIE_ROOT}/compat/netx/nx_postie_tls.c
)
set(POSTIE_NETX_INCLUDE_DIRS
  ${POSTIE_ROOT}/compat/netx/include
)
