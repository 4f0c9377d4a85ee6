/* mod_auth_bearer: httpd as an OAuth 2.0 resource server (RFC 6750 bearer JWTs).
 * This file holds the module record, the hook registration and the lifecycle (startup,
 * children). The token rules live in the core (src/); the other glue files map httpd
 * state to the verifier's inputs and its verdict to HTTP (see doc/request-flow.md). */
#include <apr_strings.h>
#include <ap_mpm.h>
#include <http_core.h>
#include <http_protocol.h>
#include <http_request.h>
#include <mod_auth.h>
/* after httpd.h: it needs APR-util's declarations */
#include <apr_optional_hooks.h>
#include <mod_status.h>
#include <unixd.h>

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "mab_fetch.h"
#include "mab_keycache.h"
#include "mab_log.h"
#include "mab_tokencache.h"
#include "mod_auth_bearer_access.h"
#include "mod_auth_bearer_authn.h"
#include "mod_auth_bearer_authz.h"
#include "mod_auth_bearer_cert.h"
#include "mod_auth_bearer_check.h"
#include "mod_auth_bearer_config.h"
#include "mod_auth_bearer_handoff.h"
#include "mod_auth_bearer_introspect.h"
#include "mod_auth_bearer_metrics.h"
#include "mod_auth_bearer_refresh.h"
#include "mod_auth_bearer_request.h"
#include "mod_auth_bearer_resource.h"
#include "mod_auth_bearer_sender_conf.h"
#include "mod_auth_bearer_status.h"

/* Under DefaultRuntimeDir: the last good key set of each source, for the next start. */
#define MAB_STORE_DIR "mod_auth_bearer"

static server_rec *log_server;

static void core_log(void *baton, int level, const char *msg)
{
    server_rec *s = baton ? baton : log_server;

    ap_log_error(APLOG_MARK, level, 0, s, "%s", msg);
}

static int pre_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp)
{
    /* A new configuration generation gets a new set of key sources. */
    mab_conf_pre_config(pconf);
    mab_introspect_pre_config(pconf);
    mab_resource_pre_config(pconf);
    return OK;
}

/* Last of the pre_config hooks: nothing else registers an authz provider after it, and
 * no Require line has been read yet. */
static int pre_config_last(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp)
{
    mab_authz_pre_config(pconf);
    return OK;
}

/* Startup checks that can refuse the configuration; check_config also runs for
 * apachectl -t and before a restart replaces the running configuration. */
static int check_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s)
{
    int rc = mab_check_transport(s, ptemp);

    rc |= mab_authz_check_config(s);
    rc |= mab_check_introspection(s, ptemp);
    rc |= mab_introspect_check_config(s, ptemp);
    rc |= mab_resource_check_config(s, pconf, ptemp);
    return rc == 0 ? OK : HTTP_INTERNAL_SERVER_ERROR;
}

/* The directory of kept key sets: made by the parent (root, usually) and handed to the
 * user the children run as, who write it; nobody else may enter it. An existing one is
 * used only if it is a real directory (not a link) owned by that user or root. NULL (and
 * a warning) when it cannot be had: keys are then fetched at every start. */
static const char *store_dir(server_rec *s, apr_pool_t *pconf)
{
    const char *dir = ap_runtime_dir_relative(pconf, MAB_STORE_DIR);
    uid_t uid = geteuid() == 0 ? ap_unixd_config.user_id : geteuid();
    gid_t gid = geteuid() == 0 ? ap_unixd_config.group_id : getegid();
    struct stat st;
    int fd;

    if (!dir) {
        return NULL;
    }
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, errno, s,
                     "MAB00011: cannot create %s: key sets are fetched again at every start", dir);
        return NULL;
    }
    /* Opened without following a link, then changed through the descriptor: a link put in
     * its place cannot redirect the chown or chmod. */
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISDIR(st.st_mode)
        || (st.st_uid != 0 && st.st_uid != uid) || (st.st_uid != uid && fchown(fd, uid, gid) != 0)
        || fchmod(fd, 0700) != 0) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, errno, s,
                     "MAB00012: %s is not a private directory of the server's user: key sets "
                     "are fetched again at every start",
                     dir);
        if (fd >= 0) {
            close(fd);
        }
        return NULL;
    }
    close(fd);
    return dir;
}

static int post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s)
{
    static int curl_ready;
    mab_keycache_opts_t opts;
    const char *err = NULL;

    log_server = s;
    mab_log_set(core_log, NULL);
    mab_handoff_collect_names(s, pconf);
    /* jansson's hash seed is its only global state: set it before any thread parses. */
    json_object_seed(0);
    /* The first pass at startup only checks the configuration. */
    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG) {
        return OK;
    }
    /* At notice, which httpd logs whatever the LogLevel, like its own "configured" line;
     * the Server header does not name the module (no ap_add_version_component). */
    ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s, "MAB00050: mod_auth_bearer %s configured",
                 MAB_VERSION);
    mab_check_sections(s, ptemp);
    mab_authz_log_shared(s);
    if (!curl_ready) {
        if (mab_fetch_global_init() != 0) {
            ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, "MAB00001: libcurl initialisation failed");
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        curl_ready = 1;
    }
    mab_tokencache_global_init(pconf);
    mab_srv_keycache_opts(mab_srv_conf(s), &opts);
    /* Before the key cache starts: it counts its fetches there. */
    opts.counters = mab_metrics_post_config(s, pconf);
    if (mab_keycache_count(mab_conf_keycache()) > 0) {
        opts.store_dir = store_dir(s, pconf);
    }
    if (mab_keycache_init(mab_conf_keycache(), pconf, &opts, &err) != 0) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, "MAB00004: %s", err);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    /* Restarts begin with the keys the last run had, not with a wait for every issuer. */
    mab_keycache_load_stored(mab_conf_keycache(), ptemp);
    mab_refresh_start(s, pconf, mab_conf_keycache());
    if (mab_sender_conf_post_config(pconf, s) != OK) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    return mab_introspect_post_config(pconf, ptemp, s);
}

static void child_init(apr_pool_t *pchild, server_rec *s)
{
    mab_keycache_t *kc = mab_conf_keycache();

    if (kc && mab_keycache_child_init(kc, pchild) != 0) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, "MAB00006: cannot create key cache locks");
    }
    else if (kc) {
        mab_refresh_child_ready();
    }
    mab_request_child_init(pchild, s);
}

static int post_read_request(request_rec *r)
{
    mab_cert_scrub(r);
    mab_handoff_scrub_vhost(r);
    return DECLINED;
}

static int header_parser(request_rec *r)
{
    mab_handoff_scrub(r);
    return DECLINED;
}

/* Reaching fixups means authorization granted: any 403 after this is not ours. The
 * anonymous user goes before the identity headers are decided (they need a real user). */
static int fixups_first(request_rec *r)
{
    mab_authz_passed(r);
    mab_authz_error_document(r);
    mab_access_withdraw_anonymous(r);
    mab_handoff_forward(r);
    return DECLINED;
}

/* Last of all fixups, so that modules that make subrequests in fixups (mod_dir's index
 * lookup) still authenticate them with the token. */
static int fixups_last(request_rec *r)
{
    mab_handoff_withhold_token(r);
    return DECLINED;
}

/* In the order httpd runs them:
 *   pre_config         a new key cache for the configuration's sources; Require scope
 *                      and claim taken back from a module loaded later (REALLY_LAST)
 *   check_config       transport rule for key sources, shared Require lines against
 *                      their section's AuthType, the RFC 9728 metadata documents built
 *                      and checked (also apachectl -t)
 *   post_config        claim header names per vhost, section warnings, libcurl, the
 *                      metrics block and the key cache in shared memory, the kept key
 *                      sets loaded, the watchdog refresh
 *   child_init         key-cache locks and fetchers, the token cache
 *   post_read_request  client copies of the vhost's claim headers removed (REALLY_FIRST)
 *   quick_handler      a metadata URL answered before any access control (FIRST)
 *   header_parser      and those of the request's sections, .htaccess too (REALLY_FIRST)
 *   check_access_ex    CORS preflight allowed without a token (FIRST)
 *   check_access       AuthBearerOptional: a present token verified early
 *   check_authn        the token verified, r->user set, or 400/401/500 with a challenge
 *   authz providers    Require scope / claim / bearer-scope / bearer-claim (both authz
 *                      passes); scope and claim handed to another module of the same
 *                      name under another AuthType
 *   fixups             authorization passed; an ErrorDocument's 403 explained; anonymous
 *                      user withdrawn, identity headers set (REALLY_FIRST);
 *                      Authorization withheld (REALLY_LAST)
 *   handler            auth-bearer-status, auth-bearer-metrics
 *   status_hook        mod_status's server-status: the metrics (optional hook)
 *   insert_error_filter / note_auth_failure   the 403 and plain challenges */
static void register_hooks(apr_pool_t *p)
{
    ap_hook_pre_config(pre_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_pre_config(pre_config_last, NULL, NULL, APR_HOOK_REALLY_LAST);
    ap_hook_check_config(check_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(child_init, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_read_request(post_read_request, NULL, NULL, APR_HOOK_REALLY_FIRST);
    ap_hook_quick_handler(mab_resource_quick_handler, NULL, NULL, APR_HOOK_FIRST);
    ap_hook_header_parser(header_parser, NULL, NULL, APR_HOOK_REALLY_FIRST);
    ap_hook_check_access_ex(mab_access_preflight, NULL, NULL, APR_HOOK_FIRST,
                            AP_AUTH_INTERNAL_PER_CONF);
    ap_hook_check_access(mab_access_verify_if_present, NULL, NULL, APR_HOOK_MIDDLE,
                         AP_AUTH_INTERNAL_PER_CONF);
    ap_hook_check_authn(mab_authn_check, NULL, NULL, APR_HOOK_MIDDLE, AP_AUTH_INTERNAL_PER_CONF);
    mab_authz_register_providers(p);
    ap_hook_fixups(fixups_first, NULL, NULL, APR_HOOK_REALLY_FIRST);
    ap_hook_fixups(fixups_last, NULL, NULL, APR_HOOK_REALLY_LAST);
    ap_hook_handler(mab_status_handler, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_handler(mab_metrics_handler, NULL, NULL, APR_HOOK_MIDDLE);
    APR_OPTIONAL_HOOK(ap, status_hook, mab_metrics_status_hook, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_insert_error_filter(mab_authz_error_filter, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_note_auth_failure(mab_authn_note_failure, NULL, NULL, APR_HOOK_MIDDLE);
}

/* clang-format off */
module AP_MODULE_DECLARE_DATA auth_bearer_module = {
    STANDARD20_MODULE_STUFF,
    mab_create_dir_conf,  /* per-directory config */
    mab_merge_dir_conf,   /* merged down the URL space */
    mab_create_srv_conf,  /* server-wide key cache settings */
    NULL,                 /* only the main server's are used */
    mab_cmds,
    register_hooks,
#if defined(AP_MODULE_FLAG_NONE)
    AP_MODULE_FLAG_NONE,
#endif
};
/* clang-format on */
