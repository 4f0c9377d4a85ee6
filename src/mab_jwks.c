#include <apr_strings.h>
#include <jansson.h>

#include "mab_jwks.h"
#include "mab_log.h"

mab_keyset_t *mab_jwks_parse(apr_pool_t *p, const char *buf, apr_size_t len, const char *source,
                             const char **reason)
{
    return mab_jwks_parse_ex(p, buf, len, source, 1, reason);
}

mab_keyset_t *mab_jwks_parse_ex(apr_pool_t *p, const char *buf, apr_size_t len, const char *source,
                                int log_skipped, const char **reason)
{
    json_error_t jerr;
    json_t *doc, *keys, *jwk;
    mab_keyset_t *ks = NULL;
    size_t i;

    doc = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!doc) {
        *reason =
            apr_psprintf(p, "key set is not valid JSON (%s, at byte %d)", jerr.text, jerr.position);
        return NULL;
    }
    keys = json_object_get(doc, "keys");
    if (!json_is_object(doc) || !json_is_array(keys)) {
        *reason = "key set has no \"keys\" array";
        goto cleanup;
    }
    ks = apr_pcalloc(p, sizeof(*ks));
    ks->keys = apr_pcalloc(p, sizeof(mab_key_t *) * MAB_MAX_JWKS_KEYS);
    json_array_foreach (keys, i, jwk) {
        const char *why = NULL;
        mab_key_t *key;

        if (ks->nkeys == MAB_MAX_JWKS_KEYS) {
            if (log_skipped) {
                mab_log(MAB_LOG_WARNING,
                        "MAB00020: %s: key set has more than %d keys; the rest are ignored", source,
                        MAB_MAX_JWKS_KEYS);
            }
            ks->nskipped += (int)(json_array_size(keys) - i);
            break;
        }
        key = mab_jwk_import(p, jwk, &why);
        if (!key) {
            json_t *kid = json_object_get(jwk, "kid");
            if (log_skipped) {
                mab_log(MAB_LOG_WARNING, "MAB00021: %s: skipping key #%d (kid=%s): %s", source,
                        (int)i,
                        mab_log_item(p, json_is_string(kid) ? json_string_value(kid) : NULL), why);
            }
            ks->nskipped++;
            continue;
        }
        ks->keys[ks->nkeys++] = key;
    }
    if (ks->nkeys == 0) {
        *reason = "key set holds no usable key";
        ks = NULL;
    }
cleanup:
    json_decref(doc);
    return ks;
}
