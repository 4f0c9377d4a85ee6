#ifndef MOD_AUTH_BEARER_PRIVATE_H
#define MOD_AUTH_BEARER_PRIVATE_H

/* Included by every glue file (and by no core file): the module record and the log tag.
 * mod_auth_bearer.c defines the module; everything else names it through this header. */
#include <httpd.h>
#include <http_config.h>
#include <http_log.h>

extern module AP_MODULE_DECLARE_DATA auth_bearer_module;

#ifdef APLOG_USE_MODULE
APLOG_USE_MODULE(auth_bearer);
#endif

/* The AuthType this module answers for. */
#define MAB_AUTH_TYPE "Bearer"

#endif
