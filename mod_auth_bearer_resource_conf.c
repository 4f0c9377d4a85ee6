/* The RFC 9728 directives: parsing and merging (see mod_auth_bearer_resource_conf.h). */
#include <apr_strings.h>

#include "mab_resource.h"
#include "mod_auth_bearer_resource_conf.h"
#include <http_core.h>

/* This generation's Require scope lines (startup only; .htaccess lines are not kept). */
static apr_array_header_t *scope_lines;

void mab_resource_conf_pre_config(apr_pool_t *pconf)
{
    scope_lines = apr_array_make(pconf, 8, sizeof(mab_scope_line_t));
}

const apr_array_header_t *mab_resource_scope_lines(void)
{
    return scope_lines;
}

void mab_resource_note_scopes(cmd_parms *cmd, const apr_array_header_t *scopes, int negated)
{
    mab_scope_line_t *l;

    if (negated || !scope_lines || !cmd->directive
        || ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_RUN_MPM) {
        return;
    }
    l = apr_array_push(scope_lines);
    l->directive = cmd->directive;
    l->scopes = scopes;
}

const ap_directive_t *mab_resource_section_of(const ap_directive_t *d)
{
    static const char *const sections[] = {"<Location",       "<LocationMatch", "<Directory",
                                           "<DirectoryMatch", "<Files",         "<FilesMatch",
                                           "<VirtualHost"};
    size_t i;

    for (d = d ? d->parent : NULL; d; d = d->parent) {
        for (i = 0; i < sizeof(sections) / sizeof(sections[0]); i++) {
            if (strcasecmp(d->directive, sections[i]) == 0) {
                return d;
            }
        }
    }
    return NULL;
}

#define PICK(f) (add->f ? add->f : base->f)

mab_resource_conf_t *mab_resource_conf_merge(apr_pool_t *p, mab_resource_conf_t *base,
                                             mab_resource_conf_t *add)
{
    mab_resource_conf_t *rc;

    if (!base || !add) {
        return add ? add : base;
    }
    rc = apr_pcalloc(p, sizeof(*rc));
    /* The identifier and where it was set are one setting. */
    if (add->identifier) {
        rc->identifier = add->identifier;
        rc->where = add->where;
        rc->section = add->section;
        rc->section_path = add->section_path;
        rc->audiences = add->audiences;
    }
    else {
        rc->identifier = base->identifier;
        rc->where = base->where;
        rc->section = base->section;
        rc->section_path = base->section_path;
        rc->audiences = base->audiences;
    }
    rc->public_url = PICK(public_url);
    rc->scopes = PICK(scopes);
    rc->name = PICK(name);
    rc->documentation = PICK(documentation);
    rc->metadata = add->metadata != -1 ? add->metadata : base->metadata;
    return rc;
}

int mab_resource_conf_metadata(const mab_resource_conf_t *rc)
{
    return rc && rc->identifier && rc->metadata != 0;
}

const char *mab_resource_conf_identifier(const mab_resource_conf_t *rc)
{
    return rc ? rc->identifier : NULL;
}

apr_array_header_t *mab_resource_conf_audiences(const mab_resource_conf_t *rc)
{
    return rc && rc->identifier ? rc->audiences : NULL;
}

/* This section's own settings, created on first use. */
static mab_resource_conf_t *own(cmd_parms *cmd, void *dconf)
{
    mab_resource_conf_t **slot = (mab_resource_conf_t **)((char *)dconf + (size_t)cmd->info);

    if (!*slot) {
        *slot = apr_pcalloc(cmd->pool, sizeof(**slot));
        (*slot)->metadata = -1;
    }
    return *slot;
}

const char *mab_resource_set_identifier(cmd_parms *cmd, void *dconf, const char *arg)
{
    mab_resource_conf_t *rc = own(cmd, dconf);
    const char *why = NULL;

    if (mab_resource_check_identifier(cmd->temp_pool, arg, &why) != 0) {
        return apr_psprintf(cmd->pool, "AuthBearerResource: '%s': %s", arg, why);
    }
    if (rc->identifier && strcmp(rc->identifier, arg) != 0) {
        return apr_psprintf(cmd->pool,
                            "AuthBearerResource: this section already is resource %s (%s)",
                            rc->identifier, rc->where);
    }
    rc->identifier = arg;
    rc->where = cmd->directive ? apr_psprintf(cmd->pool, "%s:%d", cmd->directive->filename,
                                              cmd->directive->line_num)
                               : "?";
    rc->section = mab_resource_section_of(cmd->directive);
    rc->section_path = cmd->path;
    rc->audiences = apr_array_make(cmd->pool, 1, sizeof(const char *));
    APR_ARRAY_PUSH(rc->audiences, const char *) = arg;
    return NULL;
}

const char *mab_resource_set_public_url(cmd_parms *cmd, void *dconf, const char *arg)
{
    const char *why = NULL;

    if (mab_resource_check_origin(cmd->temp_pool, arg, &why) != 0) {
        return apr_psprintf(cmd->pool, "AuthBearerPublicURL: '%s': %s", arg, why);
    }
    own(cmd, dconf)->public_url = arg;
    return NULL;
}

/* A scope token (RFC 6749 §3.3): %x21 / %x23-5B / %x5D-7E. */
static int scope_token(const char *s)
{
    if (!*s) {
        return 0;
    }
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c < 0x21 || c > 0x7e || c == '"' || c == '\\') {
            return 0;
        }
    }
    return 1;
}

const char *mab_resource_add_scope(cmd_parms *cmd, void *dconf, const char *arg)
{
    mab_resource_conf_t *rc = own(cmd, dconf);

    if (!scope_token(arg)) {
        return apr_psprintf(cmd->pool, "AuthBearerResourceScopes: '%s' is not a scope", arg);
    }
    if (!rc->scopes) {
        rc->scopes = apr_array_make(cmd->pool, 4, sizeof(const char *));
    }
    APR_ARRAY_PUSH(rc->scopes, const char *) = arg;
    return NULL;
}

const char *mab_resource_set_name(cmd_parms *cmd, void *dconf, const char *arg)
{
    if (!*arg) {
        return "AuthBearerResourceName: the name is empty";
    }
    own(cmd, dconf)->name = arg;
    return NULL;
}

const char *mab_resource_set_documentation(cmd_parms *cmd, void *dconf, const char *arg)
{
    if (strncmp(arg, "https://", 8) != 0 && strncmp(arg, "http://", 7) != 0) {
        return apr_psprintf(cmd->pool,
                            "AuthBearerResourceDocumentation: '%s' is not an http(s) URL", arg);
    }
    own(cmd, dconf)->documentation = arg;
    return NULL;
}

const char *mab_resource_set_metadata(cmd_parms *cmd, void *dconf, int on)
{
    own(cmd, dconf)->metadata = on;
    return NULL;
}
