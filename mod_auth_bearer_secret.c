/* file:/env: secrets (see mod_auth_bearer_secret.h). */
#include "mod_auth_bearer_secret.h"

#include <apr_file_io.h>
#include <apr_strings.h>

static const char *from_env(cmd_parms *cmd, const char *directive, const char *name,
                            const char **value, apr_size_t *len)
{
    *value = getenv(name);
    if (!*value || !**value) {
        return apr_psprintf(cmd->pool, "%s: environment variable %s is not set or empty",
                            directive, name);
    }
    *len = strlen(*value);
    return NULL;
}

static const char *from_file(cmd_parms *cmd, const char *directive, const char *file, char *buf,
                             apr_size_t size, const char **value, apr_size_t *len)
{
    const char *path = ap_server_root_relative(cmd->temp_pool, file);
    apr_file_t *f = NULL;
    apr_status_t rv;

    if (!path || apr_file_open(&f, path, APR_FOPEN_READ, 0, cmd->temp_pool) != APR_SUCCESS) {
        return apr_psprintf(cmd->pool, "%s: cannot open %s", directive, file);
    }
    rv = apr_file_read_full(f, buf, size - 1, len);
    apr_file_close(f);
    if (rv != APR_SUCCESS && rv != APR_EOF) {
        return apr_psprintf(cmd->pool, "%s: cannot read %s", directive, file);
    }
    if (*len == size - 1) {
        return apr_psprintf(cmd->pool, "%s: the secret file is larger than %lu bytes", directive,
                            (unsigned long)(size - 2));
    }
    /* Editors and `echo` end a file with a newline that is not part of the secret. */
    if (*len && buf[*len - 1] == '\n') {
        (*len)--;
    }
    if (*len && buf[*len - 1] == '\r') {
        (*len)--;
    }
    *value = buf;
    return NULL;
}

const char *mab_secret_read(cmd_parms *cmd, const char *directive, const char *arg, char *buf,
                            apr_size_t size, const char **value, apr_size_t *len)
{
    if (strncmp(arg, "env:", 4) == 0) {
        return from_env(cmd, directive, arg + 4, value, len);
    }
    if (strncmp(arg, "file:", 5) == 0) {
        return from_file(cmd, directive, arg + 5, buf, size, value, len);
    }
    return apr_psprintf(cmd->pool,
                        "%s needs file:/path/to/secret or env:VARIABLE (a secret is never "
                        "written in the configuration itself)",
                        directive);
}
