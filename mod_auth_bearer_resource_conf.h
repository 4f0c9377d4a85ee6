#ifndef MOD_AUTH_BEARER_RESOURCE_CONF_H
#define MOD_AUTH_BEARER_RESOURCE_CONF_H

/* The RFC 9728 directives (AuthBearerResource, AuthBearerResourceScopes, …Name,
 * …Documentation, …Metadata, AuthBearerPublicURL): their parsing and merging, kept out of
 * mod_auth_bearer_config.c, which holds only a pointer to this and one line of its command
 * table (MAB_RESOURCE_CMDS). Every field unset until a directive sets it. */
#include "mod_auth_bearer_private.h"

typedef struct mab_resource_conf_t {
    const char *identifier; /* AuthBearerResource; NULL unset */
    const char *where;      /* its file:line, for startup messages */
    /* the section node that holds it (<Location>, <Directory>, <VirtualHost>), NULL at the
     * top level: Require scope lines of this node belong to it */
    const ap_directive_t *section;
    const char *section_path;      /* cmd->path of that section, NULL outside one */
    apr_array_header_t *audiences; /* { identifier }: the default AuthBearerAudience */
    const char *public_url;        /* AuthBearerPublicURL, scheme://host[:port] */
    apr_array_header_t *scopes;    /* AuthBearerResourceScopes; NULL unset */
    const char *name;              /* AuthBearerResourceName */
    const char *documentation;     /* AuthBearerResourceDocumentation */
    int metadata;                  /* AuthBearerResourceMetadata: -1 unset, 0 Off, 1 On */
} mab_resource_conf_t;

/* One Require scope line read at startup (not negated), for scopes_supported. */
typedef struct {
    const ap_directive_t *directive;
    const apr_array_header_t *scopes; /* const char * */
} mab_scope_line_t;

/* base, add or a merge of both (each field: add's when set); NULL when both are. */
mab_resource_conf_t *mab_resource_conf_merge(apr_pool_t *p, mab_resource_conf_t *base,
                                             mab_resource_conf_t *add);

/* Effective values. */
int mab_resource_conf_metadata(const mab_resource_conf_t *rc); /* default On */
const char *mab_resource_conf_identifier(const mab_resource_conf_t *rc);
/* The audiences a section without AuthBearerAudience requires: { identifier }, or NULL. */
apr_array_header_t *mab_resource_conf_audiences(const mab_resource_conf_t *rc);

/* pre_config: a new generation forgets the Require scope lines of the last. */
void mab_resource_conf_pre_config(apr_pool_t *pconf);
/* The authz provider's parse function reports each Require scope line here. */
void mab_resource_note_scopes(cmd_parms *cmd, const apr_array_header_t *scopes, int negated);
const apr_array_header_t *mab_resource_scope_lines(void); /* mab_scope_line_t */

/* The section node a directive belongs to: its nearest enclosing <Location>, <LocationMatch>,
 * <Directory>, <DirectoryMatch>, <Files>, <FilesMatch> or <VirtualHost> (<If>, <Require…>,
 * <Limit…>, <IfModule>, <IfDefine> are looked through), or NULL at the top level. */
const ap_directive_t *mab_resource_section_of(const ap_directive_t *d);

/* Setters; cmd->info is the offset of the mab_resource_conf_t pointer in the dir conf. */
const char *mab_resource_set_identifier(cmd_parms *cmd, void *dconf, const char *arg);
const char *mab_resource_set_public_url(cmd_parms *cmd, void *dconf, const char *arg);
const char *mab_resource_add_scope(cmd_parms *cmd, void *dconf, const char *arg);
const char *mab_resource_set_name(cmd_parms *cmd, void *dconf, const char *arg);
const char *mab_resource_set_documentation(cmd_parms *cmd, void *dconf, const char *arg);
const char *mab_resource_set_metadata(cmd_parms *cmd, void *dconf, int on);

/* The command table's lines; `off` is APR_OFFSETOF(mab_dir_conf_t, resource). Not in
 * .htaccess: the metadata documents are built at startup. */
#define MAB_RESOURCE_CMDS(off)                                                                     \
    AP_INIT_TAKE1("AuthBearerResource", mab_resource_set_identifier, (void *)(off),                \
                  RSRC_CONF | ACCESS_CONF,                                                         \
                  "this protected resource's identifier (RFC 9728), an https URL: publishes "      \
                  "its metadata and is the default AuthBearerAudience"),                           \
        AP_INIT_TAKE1("AuthBearerPublicURL", mab_resource_set_public_url, (void *)(off),           \
                      RSRC_CONF | ACCESS_CONF,                                                     \
                      "scheme://host[:port] clients reach this server by, for the metadata "       \
                      "URL (default: the resource identifier's own)"),                             \
        AP_INIT_ITERATE("AuthBearerResourceScopes", mab_resource_add_scope, (void *)(off),         \
                        RSRC_CONF | ACCESS_CONF,                                                   \
                        "scopes_supported of the metadata (default: the section's Require "        \
                        "scope lines)"),                                                           \
        AP_INIT_TAKE1("AuthBearerResourceName", mab_resource_set_name, (void *)(off),              \
                      RSRC_CONF | ACCESS_CONF, "resource_name of the metadata"),                   \
        AP_INIT_TAKE1("AuthBearerResourceDocumentation", mab_resource_set_documentation,           \
                      (void *)(off), RSRC_CONF | ACCESS_CONF,                                      \
                      "resource_documentation of the metadata: a URL"),                            \
        AP_INIT_FLAG("AuthBearerResourceMetadata", mab_resource_set_metadata, (void *)(off),       \
                     RSRC_CONF | ACCESS_CONF,                                                      \
                     "Off: no metadata document and no resource_metadata in challenges; the "      \
                     "identifier stays the default audience (default On)")

#endif
