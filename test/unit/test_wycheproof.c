/* Google Wycheproof vectors (test/vectors/wycheproof, see its README) against the core.
 *
 * Primitive files (ECDSA P-256 P1363, RSASSA-PKCS1-v1_5, RSASSA-PSS, Ed25519): each group's
 * public key is built as a JWK from the file's hex (n/e, wx/wy, pk), imported with
 * mab_jwk_import, and every vector goes through mab_sig_verify. "valid" must verify,
 * "invalid" must not, and "acceptable" (legacy leniency) must not either: the module fails
 * closed. The JWK built from hex is also compared with the JWK the file carries.
 *
 * JSON files: each test goes the way a request goes through the module (mirroring
 * verify_signature in mod_auth_bearer.c): mab_jws_parse, the allow-list, then HMAC with the
 * admin's secret (mab_jwk_secret) or anything else with a key set (mab_jwks_parse +
 * mab_jws_verify_keyset). json_web_key_test.json supplies key sets, so every key comes
 * through mab_jwks_parse; json_web_signature_test.json supplies one key per group, an
 * "oct" key being the admin's secret and any other key a one-key set. A JSON-serialization
 * JWS is handed to mab_jws_parse like any token and counts as rejected. The HMAC key-length
 * tests of json_web_key_test.json also run with their key as the admin's secret, where the
 * RFC 7518 3.2 minimum applies and the labels hold unchanged.
 *
 * Where Wycheproof's expectation contradicts a deliberate product rule, or its data is
 * inconsistent, the test is a named exception below and the product's verdict is asserted.
 * Everything else must match. One TAP line per file (or mapping); a '#' line per mismatch. */
#include "mab_alg.h"
#include "mab_b64.h"
#include "mab_jwk.h"
#include "mab_jwks.h"
#include "mab_jws.h"
#include "mab_log.h"
#include "mab_sig.h"
#include "tap.h"
#include "testutil.h"

#define WYCHEPROOF_DIR "test/vectors/wycheproof/"

enum { REJECT = 0, ACCEPT = 1 };

/* Named exceptions: what the product does instead of what Wycheproof's label says. */
static const struct exception_t {
    const char *file;
    int tc_id;
    int verdict; /* ACCEPT or REJECT: asserted instead of the label */
    const char *reason;
} exceptions[] = {
    {"json_web_key_test.json", 2, REJECT,
     "HS256 key only in a JWKS: a key set never supplies an oct key (HMAC needs "
     "AuthBearerSharedSecret)"},
    {"json_web_key_test.json", 13, REJECT,
     "HS256 key only in a JWKS: a key set never supplies an oct key (HMAC needs "
     "AuthBearerSharedSecret)"},
    {"json_web_key_test.json", 14, REJECT,
     "HS384 key only in a JWKS: a key set never supplies an oct key (HMAC needs "
     "AuthBearerSharedSecret)"},
    {"json_web_key_test.json", 15, REJECT,
     "HS512 key only in a JWKS: a key set never supplies an oct key (HMAC needs "
     "AuthBearerSharedSecret)"},
    {"json_web_signature_test.json", 346, REJECT,
     "data: the JWK says alg PS256 but the token is PS384; a JWK's own alg is binding (RFC 7517 "
     "4.4)"},
    {"json_web_signature_test.json", 350, REJECT,
     "data: the JWK says alg PS256 but the token is PS384; a JWK's own alg is binding (RFC 7517 "
     "4.4)"},
    {"json_web_signature_test.json", 347, REJECT,
     "data: the JWK's alg is \"ES521\", not a JWA name (P-521 is ES512); a JWK with an unknown alg "
     "is skipped"},
    {"json_web_signature_test.json", 351, REJECT,
     "data: the JWK's alg is \"ES521\", not a JWA name (P-521 is ES512); a JWK with an unknown alg "
     "is skipped"},
    {"json_web_signature_test.json", 357, ACCEPT,
     "data: same token as 367 and 370, labelled valid; it is a correct HS256 MAC"},
    {"json_web_signature_test.json", 367, ACCEPT,
     "data: same token as 357 (valid), labelled invalid (\"invalidBase64Padding\"); it is a "
     "correct MAC"},
    {"json_web_signature_test.json", 370, ACCEPT,
     "data: same token as 357 (valid), labelled invalid (\"invalidBase64PaddingInPayload\")"},
    {"json_web_signature_test.json", 372, REJECT,
     "data: labelled valid but the header contains '?', which strict base64url refuses"},
    {"json_web_signature_test.json", 373, REJECT,
     "data: labelled valid but the payload contains '?', which strict base64url refuses"},
};
static int exception_used[sizeof(exceptions) / sizeof(exceptions[0])];

static const struct exception_t *find_exception(const char *file, int tc_id)
{
    size_t i;

    for (i = 0; i < sizeof(exceptions) / sizeof(exceptions[0]); i++) {
        if (exceptions[i].tc_id == tc_id && strcmp(exceptions[i].file, file) == 0) {
            exception_used[i] = 1;
            return &exceptions[i];
        }
    }
    return NULL;
}

/* A missing or unreadable file is a failure, never a skip. */
static json_t *load_file(const char *name)
{
    char buf[512];
    json_error_t err;
    json_t *v;

    snprintf(buf, sizeof(buf), "%s%s", WYCHEPROOF_DIR, name);
    v = json_load_file(buf, JSON_REJECT_DUPLICATES, &err);
    if (!v) {
        printf("# cannot load %s: %s (line %d)\n", buf, err.text, err.line);
    }
    return v;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* Hex to bytes; never returns NULL for valid input (an empty string gives a 1-byte buffer
 * and length 0), NULL for anything that is not an even run of hex digits. */
static unsigned char *unhex(apr_pool_t *p, const char *hex, size_t *len)
{
    size_t n = hex ? strlen(hex) : 0, i;
    unsigned char *out;

    if (!hex || n % 2) {
        return NULL;
    }
    out = apr_palloc(p, n / 2 + 1);
    for (i = 0; i < n / 2; i++) {
        int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            return NULL;
        }
        out[i] = (unsigned char)(hi << 4 | lo);
    }
    *len = n / 2;
    return out;
}

/* A hex integer as a JWK member: leading zero bytes dropped, then left-padded to `width`
 * bytes when width is non-zero (EC coordinates are exactly the field size). */
static const char *hex_int_b64(apr_pool_t *p, const char *hex, size_t width)
{
    size_t len = 0;
    unsigned char *b = unhex(p, hex, &len), *out;

    if (!b) {
        return NULL;
    }
    while (len > 0 && b[0] == 0) {
        b++;
        len--;
    }
    if (width) {
        if (len > width) {
            return NULL;
        }
        out = apr_pcalloc(p, width);
        memcpy(out + width - len, b, len);
        b = out;
        len = width;
    }
    return mab_b64url_encode(p, b, len);
}

static const char *hex_b64(apr_pool_t *p, const char *hex)
{
    size_t len = 0;
    unsigned char *b = unhex(p, hex, &len);

    return b ? mab_b64url_encode(p, b, len) : NULL;
}

static const char *str(json_t *obj, const char *name)
{
    return json_string_value(json_object_get(obj, name));
}

static int same_str(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}

static const char *flags_text(apr_pool_t *p, json_t *test)
{
    json_t *flags = json_object_get(test, "flags"), *f;
    const char *out = "";
    size_t i;

    json_array_foreach (flags, i, f) {
        out = apr_pstrcat(p, out, i ? "," : "", json_string_value(f), NULL);
    }
    return out;
}

/* ---- primitive files ---------------------------------------------------------------- */

typedef enum { KIND_ECDSA, KIND_RSA, KIND_EDDSA } prim_kind_e;

typedef struct {
    const char *file;
    const char *alg;
    prim_kind_e kind;
    const char *file_jwk; /* the member holding the file's own JWK of the group's key */
} prim_file_t;

/* The group's public key as a JWK built from the hex members, or NULL with *why. */
static json_t *group_jwk(apr_pool_t *p, const prim_file_t *pf, json_t *group, const char **why)
{
    json_t *pk = json_object_get(group, "publicKey");
    const char *a, *b;

    switch (pf->kind) {
    case KIND_ECDSA:
        if (!same_str(str(pk, "curve"), "secp256r1")) {
            *why = "curve is not secp256r1";
            return NULL;
        }
        a = hex_int_b64(p, str(pk, "wx"), 32);
        b = hex_int_b64(p, str(pk, "wy"), 32);
        if (!a || !b) {
            *why = "bad wx/wy";
            return NULL;
        }
        return json_pack("{s:s, s:s, s:s, s:s}", "kty", "EC", "crv", "P-256", "x", a, "y", b);
    case KIND_RSA:
        a = hex_int_b64(p, str(pk, "modulus"), 0);
        b = hex_int_b64(p, str(pk, "publicExponent"), 0);
        if (!a || !b) {
            *why = "bad modulus/publicExponent";
            return NULL;
        }
        return json_pack("{s:s, s:s, s:s}", "kty", "RSA", "n", a, "e", b);
    case KIND_EDDSA:
    default:
        if (!same_str(str(pk, "curve"), "edwards25519")) {
            *why = "curve is not edwards25519";
            return NULL;
        }
        a = hex_b64(p, str(pk, "pk"));
        if (!a) {
            *why = "bad pk";
            return NULL;
        }
        return json_pack("{s:s, s:s, s:s}", "kty", "OKP", "crv", "Ed25519", "x", a);
    }
}

/* The group's hash, MGF and salt are those the JWA alg fixes (RFC 7518 3.3, 3.4, 3.5). */
static int group_params_fit(const prim_file_t *pf, json_t *group)
{
    if (pf->kind == KIND_EDDSA) {
        return 1;
    }
    if (!same_str(str(group, "sha"), "SHA-256")) {
        return 0;
    }
    if (strcmp(pf->alg, "PS256") == 0) {
        return same_str(str(group, "mgf"), "MGF1") && same_str(str(group, "mgfSha"), "SHA-256")
               && json_integer_value(json_object_get(group, "sLen")) == 32;
    }
    return 1;
}

/* The JWK members built from hex equal the file's own JWK. */
static int matches_file_jwk(json_t *built, json_t *file_jwk)
{
    const char *key;
    json_t *v;

    if (!json_is_object(file_jwk)) {
        return 0;
    }
    json_object_foreach (built, key, v) {
        if (!same_str(json_string_value(v), str(file_jwk, key))) {
            return 0;
        }
    }
    return 1;
}

static void run_primitive_file(apr_pool_t *p, const prim_file_t *pf)
{
    const mab_alg_t *alg = mab_alg_find(pf->alg);
    json_t *doc = load_file(pf->file), *groups, *group;
    size_t gi;
    int total = 0, matched = 0, n_valid = 0, n_invalid = 0, n_accept = 0;
    int keys_ok = 1, jwk_same = 1, params_ok = 1;

    if (!ok(doc != NULL && alg != NULL, "%s loads", pf->file)) {
        json_decref(doc);
        return;
    }
    groups = json_object_get(doc, "testGroups");
    json_array_foreach (groups, gi, group) {
        apr_pool_t *gp;
        json_t *jwk, *tests, *test;
        const char *why = NULL;
        mab_key_t *key = NULL;
        size_t ti;

        apr_pool_create(&gp, p);
        if (!group_params_fit(pf, group)) {
            params_ok = 0;
            printf("#   group %zu: parameters are not those of %s\n", gi, pf->alg);
        }
        jwk = group_jwk(gp, pf, group, &why);
        if (jwk) {
            if (!matches_file_jwk(jwk, json_object_get(group, pf->file_jwk))) {
                jwk_same = 0;
                printf("#   group %zu: JWK built from hex differs from the file's %s\n", gi,
                       pf->file_jwk);
            }
            key = mab_jwk_import(gp, jwk, &why);
            json_decref(jwk);
        }
        if (!key) {
            keys_ok = 0;
            printf("#   group %zu: public key not usable: %s\n", gi, why ? why : "?");
        }
        tests = json_object_get(group, "tests");
        json_array_foreach (tests, ti, test) {
            const char *result = str(test, "result"), *detail = NULL;
            int tc_id = (int)json_integer_value(json_object_get(test, "tcId"));
            size_t msg_len = 0, sig_len = 0;
            unsigned char *msg = unhex(gp, str(test, "msg"), &msg_len);
            unsigned char *sig = unhex(gp, str(test, "sig"), &sig_len);
            int want = same_str(result, "valid") ? ACCEPT : REJECT;
            int got = REJECT;

            total++;
            if (same_str(result, "valid")) {
                n_valid++;
            }
            else if (same_str(result, "invalid")) {
                n_invalid++;
            }
            else {
                n_accept++;
            }
            if (key && msg && sig) {
                got = mab_sig_verify(alg, key, msg, msg_len, sig, sig_len, &detail) == MAB_OK
                          ? ACCEPT
                          : REJECT;
            }
            if (!same_str(result, "valid") && !same_str(result, "invalid")) {
                /* "acceptable": legacy leniency; the module is expected to refuse it. */
                printf("#   %s tcId %d is \"%s\" [%s]: %s\n", pf->file, tc_id,
                       result ? result : "?", flags_text(gp, test),
                       got == ACCEPT ? "ACCEPTED" : "rejected (fail closed)");
            }
            if (got == want) {
                matched++;
            }
            else {
                printf("#   MISMATCH %s tcId %d (%s) [%s]: label %s, got %s%s%s\n", pf->file, tc_id,
                       str(test, "comment"), flags_text(gp, test), result ? result : "?",
                       got == ACCEPT ? "accept" : "reject", detail ? ": " : "",
                       detail ? detail : "");
            }
        }
        apr_pool_destroy(gp);
    }
    ok(params_ok, "%s: every group's hash/MGF/salt is that of %s", pf->file, pf->alg);
    ok(jwk_same, "%s: JWKs built from hex equal the file's %s", pf->file, pf->file_jwk);
    ok(keys_ok, "%s: every group's public key imports", pf->file);
    ok(total > 0 && matched == total,
       "%s: %d/%d verdicts match (%d valid, %d invalid, %d acceptable -> rejected)", pf->file,
       matched, total, n_valid, n_invalid, n_accept);
    json_decref(doc);
}

/* ---- JSON Web Key / JSON Web Signature files -------------------------------------- */

typedef struct {
    const mab_keyset_t *ks;  /* AuthBearerJWKS, or NULL */
    const mab_key_t *secret; /* AuthBearerSharedSecret, or NULL */
    const char *ks_note;     /* why keys were refused (the last skip logged), or NULL */
} keysrc_t;

/* mab_jwks_parse logs each key it skips; keep the last message for diagnostics. */
static char last_log[512];

static void keep_log(void *baton, int level, const char *msg)
{
    (void)baton;
    (void)level;
    snprintf(last_log, sizeof(last_log), "%s", msg);
}

/* The module's decision for one token (mod_auth_bearer.c: verify_signature). */
static int product_verdict(apr_pool_t *p, const char *tok, size_t len, const keysrc_t *src,
                           const char **detail)
{
    static const char *const hmac[] = {"HS256", "HS384", "HS512"};
    unsigned mask = mab_alg_default_mask();
    mab_jws_t *jws = NULL;
    mab_err_e rv;
    size_t i;

    *detail = NULL;
    rv = mab_jws_parse(p, tok, len, MAB_MAX_TOKEN_SIZE, &jws, detail);
    if (rv != MAB_OK) {
        return REJECT;
    }
    for (i = 0; src->secret && i < sizeof(hmac) / sizeof(hmac[0]); i++) {
        const mab_alg_t *a = mab_alg_find(hmac[i]);
        if (mab_jwk_fits_alg(src->secret, a)) {
            mask |= a->bit;
        }
    }
    if (!(jws->alg->bit & mask)) {
        *detail = "alg is not in the allow-list";
        return REJECT;
    }
    if (jws->alg->family == MAB_FAMILY_HMAC) {
        if (!src->secret) {
            *detail = "HMAC token but no shared secret";
            return REJECT;
        }
        rv = mab_jws_verify_key(jws, src->secret, detail);
    }
    else {
        if (!src->ks) {
            *detail = apr_pstrcat(p, "no usable key set", src->ks_note ? ": " : "",
                                  src->ks_note ? src->ks_note : "", NULL);
            return REJECT;
        }
        rv = mab_jws_verify_keyset(jws, src->ks, mask, detail);
    }
    return rv == MAB_OK ? ACCEPT : REJECT;
}

/* The test's token: a string, or (JSON serialization given as an object) its JSON text. */
static const char *test_token(apr_pool_t *p, json_t *test, size_t *len)
{
    json_t *j = json_object_get(test, "jws");
    char *dump;
    const char *tok;

    if (json_is_string(j)) {
        *len = json_string_length(j);
        return json_string_value(j);
    }
    dump = json_dumps(j, JSON_COMPACT);
    tok = apr_pstrdup(p, dump ? dump : "");
    free(dump);
    *len = strlen(tok);
    return tok;
}

/* A key set from a JSON object, as the module would parse it after fetching it. */
static void keyset_from(apr_pool_t *p, json_t *jwks, keysrc_t *src)
{
    char *text = json_dumps(jwks, JSON_COMPACT);
    const char *reason = NULL;

    if (!text) {
        return;
    }
    last_log[0] = '\0';
    src->ks = mab_jwks_parse(p, text, strlen(text), "wycheproof", &reason);
    free(text);
    src->ks_note = last_log[0] ? apr_pstrdup(p, last_log) : reason;
}

static const mab_key_t *secret_from(apr_pool_t *p, json_t *jwk)
{
    unsigned char *k = NULL;
    apr_size_t k_len = 0;
    const char *b64 = str(jwk, "k");

    if (!b64 || mab_b64url_decode(p, b64, strlen(b64), &k, &k_len) != 0) {
        return NULL;
    }
    return mab_jwk_secret(p, k, k_len);
}

typedef struct {
    int total, matched, as_labelled, excepted;
} tally_t;

static void judge(apr_pool_t *p, const char *file, json_t *test, int got, const char *detail,
                  tally_t *t)
{
    int tc_id = (int)json_integer_value(json_object_get(test, "tcId"));
    const char *result = str(test, "result");
    int label = same_str(result, "valid") ? ACCEPT : REJECT;
    const struct exception_t *ex = find_exception(file, tc_id);
    int want = ex ? ex->verdict : label;

    t->total++;
    if (got == want) {
        t->matched++;
        if (ex) {
            t->excepted++;
        }
        else {
            t->as_labelled++;
        }
        return;
    }
    printf("#   MISMATCH %s tcId %d (%s) [%s]: label %s%s, got %s%s%s\n", file, tc_id,
           str(test, "comment"), flags_text(p, test), result ? result : "?",
           ex ? " (exception: want the product's verdict)" : "",
           got == ACCEPT ? "accept" : "reject", detail ? ": " : "", detail ? detail : "");
}

static void run_jwk_file(apr_pool_t *p)
{
    static const char *const file = "json_web_key_test.json";
    /* The HMAC tests whose point is the key itself (length, emptiness, a modified MAC):
     * also run with that key as the admin's secret, where the label must hold as it is. */
    static const int secret_ids[] = {2, 3, 10, 11, 12, 13, 14, 15, 16, 17, 18};
    json_t *doc = load_file(file), *group;
    tally_t t = {0, 0, 0, 0}, ts = {0, 0, 0, 0};
    size_t gi;

    if (!ok(doc != NULL, "%s loads", file)) {
        return;
    }
    json_array_foreach (json_object_get(doc, "testGroups"), gi, group) {
        json_t *set = json_object_get(group, "public"), *test;
        apr_pool_t *gp;
        keysrc_t src = {NULL, NULL, NULL};
        size_t ti;

        if (!set) {
            set = json_object_get(group, "private");
        }
        apr_pool_create(&gp, p);
        keyset_from(gp, set, &src);
        json_array_foreach (json_object_get(group, "tests"), ti, test) {
            int tc_id = (int)json_integer_value(json_object_get(test, "tcId"));
            const char *detail = NULL, *tok;
            size_t len, i;
            int got;

            tok = test_token(gp, test, &len);
            got = product_verdict(gp, tok, len, &src, &detail);
            judge(gp, file, test, got, detail, &t);
            for (i = 0; i < sizeof(secret_ids) / sizeof(secret_ids[0]); i++) {
                if (secret_ids[i] == tc_id) {
                    break;
                }
            }
            if (i < sizeof(secret_ids) / sizeof(secret_ids[0])) {
                /* The oct key the token's kid names, configured as the admin's secret. */
                mab_jws_t *jws = NULL;
                keysrc_t as_secret = {NULL, NULL, NULL};
                json_t *jwk;
                size_t ki;
                int label = same_str(str(test, "result"), "valid") ? ACCEPT : REJECT;

                if (mab_jws_parse(gp, tok, len, MAB_MAX_TOKEN_SIZE, &jws, &detail) == MAB_OK) {
                    json_array_foreach (json_object_get(set, "keys"), ki, jwk) {
                        if (!as_secret.secret && jws->kid && same_str(str(jwk, "kid"), jws->kid)
                            && same_str(str(jwk, "kty"), "oct")) {
                            as_secret.secret = secret_from(gp, jwk);
                        }
                    }
                }
                got = as_secret.secret ? product_verdict(gp, tok, len, &as_secret, &detail) : -1;
                ts.total++;
                if (got == label) {
                    ts.matched++;
                }
                else {
                    printf("#   MISMATCH %s tcId %d as admin secret (%s): label %s, got %s%s%s\n",
                           file, tc_id, str(test, "comment"), str(test, "result"),
                           got == ACCEPT   ? "accept"
                           : got == REJECT ? "reject"
                                           : "no oct key",
                           detail ? ": " : "", detail ? detail : "");
                }
            }
        }
        apr_pool_destroy(gp);
    }
    ok(t.total > 0 && t.matched == t.total,
       "%s via key sets: %d/%d verdicts as expected (%d as labelled, %d named exceptions)", file,
       t.matched, t.total, t.as_labelled, t.excepted);
    ok(ts.total == (int)(sizeof(secret_ids) / sizeof(secret_ids[0])) && ts.matched == ts.total,
       "%s HMAC keys as the admin's secret: %d/%d verdicts match", file, ts.matched, ts.total);
    json_decref(doc);
}

/* The data exceptions, checked rather than taken on trust: the RFC 7520 tokens whose JWK
 * carries an inconsistent alg verify once that alg is dropped, and 357/367/370 are one token. */
static const int alg_dropped_ids[] = {346, 347, 350, 351};
static const int same_token_ids[] = {357, 367, 370};

static int in_list(const int *list, size_t n, int tc_id)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (list[i] == tc_id) {
            return 1;
        }
    }
    return 0;
}

static void run_jws_file(apr_pool_t *p)
{
    static const char *const file = "json_web_signature_test.json";
    json_t *doc = load_file(file), *group;
    tally_t t = {0, 0, 0, 0};
    size_t gi;
    int n_dropped = 0, dropped_ok = 0, n_same = 0, same_ok = 1;
    const char *first_token = NULL;

    if (!ok(doc != NULL, "%s loads", file)) {
        return;
    }
    json_array_foreach (json_object_get(doc, "testGroups"), gi, group) {
        json_t *jwk = json_object_get(group, "public"), *test;
        apr_pool_t *gp;
        keysrc_t src = {NULL, NULL, NULL};
        size_t ti;

        if (!jwk) {
            jwk = json_object_get(group, "private");
        }
        apr_pool_create(&gp, p);
        if (same_str(str(jwk, "kty"), "oct")) {
            src.secret = secret_from(gp, jwk);
        }
        else {
            json_t *set = json_pack("{s:[O]}", "keys", jwk);
            keyset_from(gp, set, &src);
            json_decref(set);
        }
        json_array_foreach (json_object_get(group, "tests"), ti, test) {
            const char *detail = NULL, *tok;
            size_t len;
            int got;

            int tc_id = (int)json_integer_value(json_object_get(test, "tcId"));

            tok = test_token(gp, test, &len);
            got = product_verdict(gp, tok, len, &src, &detail);
            judge(gp, file, test, got, detail, &t);
            if (in_list(alg_dropped_ids, sizeof(alg_dropped_ids) / sizeof(alg_dropped_ids[0]),
                        tc_id)) {
                json_t *bare = json_deep_copy(jwk), *set;
                keysrc_t fixed = {NULL, NULL, NULL};

                json_object_del(bare, "alg");
                set = json_pack("{s:[o]}", "keys", bare);
                keyset_from(gp, set, &fixed);
                json_decref(set);
                n_dropped++;
                if (product_verdict(gp, tok, len, &fixed, &detail) == ACCEPT) {
                    dropped_ok++;
                }
                else {
                    printf("#   tcId %d does not verify even without the JWK's alg: %s\n", tc_id,
                           detail ? detail : "?");
                }
            }
            if (in_list(same_token_ids, sizeof(same_token_ids) / sizeof(same_token_ids[0]),
                        tc_id)) {
                n_same++;
                if (!first_token) {
                    first_token = apr_pstrdup(p, tok);
                }
                else if (strcmp(first_token, tok) != 0) {
                    same_ok = 0;
                }
            }
        }
        apr_pool_destroy(gp);
    }
    ok(t.total > 0 && t.matched == t.total,
       "%s: %d/%d verdicts as expected (%d as labelled, %d named exceptions)", file, t.matched,
       t.total, t.as_labelled, t.excepted);
    ok(n_dropped == 4 && dropped_ok == n_dropped,
       "%s: tcIds 346/347/350/351 verify once the JWK's inconsistent alg is dropped", file);
    ok(n_same == 3 && same_ok, "%s: tcIds 357, 367 and 370 are the same token", file);
    json_decref(doc);
}

int main(void)
{
    static const prim_file_t prims[] = {
        {"ecdsa_secp256r1_sha256_p1363_test.json", "ES256", KIND_ECDSA, "publicKeyJwk"},
        {"rsa_signature_2048_sha256_test.json", "RS256", KIND_RSA, "keyJwk"},
        {"rsa_pss_2048_sha256_mgf1_32_test.json", "PS256", KIND_RSA, "publicKeyJwk"},
        {"ed25519_test.json", "EdDSA", KIND_EDDSA, "publicKeyJwk"},
    };
    apr_pool_t *p = test_setup();
    size_t i;
    int all_used = 1;

    mab_log_set(keep_log, NULL);
    for (i = 0; i < sizeof(prims) / sizeof(prims[0]); i++) {
        run_primitive_file(p, &prims[i]);
    }
    run_jwk_file(p);
    run_jws_file(p);

    printf("# named exceptions (product verdict asserted instead of the label):\n");
    for (i = 0; i < sizeof(exceptions) / sizeof(exceptions[0]); i++) {
        printf("#   %s tcId %d -> %s: %s\n", exceptions[i].file, exceptions[i].tc_id,
               exceptions[i].verdict == ACCEPT ? "accept" : "reject", exceptions[i].reason);
        if (!exception_used[i]) {
            all_used = 0;
            printf("#   ^ this exception matched no test\n");
        }
    }
    ok(all_used, "every named exception names a test that exists");
    apr_pool_destroy(p);
    return tap_done();
}
