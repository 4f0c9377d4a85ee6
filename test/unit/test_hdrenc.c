#include "mab_hdrenc.h"
#include "tap.h"
#include "testutil.h"

/* The value `text` gets under `enc`, or NULL when it is withheld (*st, *why say why). */
static const char *enc_of(apr_pool_t *p, mab_hdrenc_e enc, const char *text, mab_hdrval_e *st,
                          const char **why)
{
    const char *out = NULL, *w = NULL;
    mab_hdrval_e s = mab_hdrenc_value(p, enc, text, &out, &w);

    if (st) {
        *st = s;
    }
    if (why) {
        *why = w;
    }
    return s == MAB_HDRVAL_OK ? out : NULL;
}

static int withheld(apr_pool_t *p, mab_hdrenc_e enc, const char *text, mab_hdrval_e want)
{
    mab_hdrval_e st = MAB_HDRVAL_OK;
    const char *why = NULL;

    return !enc_of(p, enc, text, &st, &why) && st == want && why && *why;
}

int main(void)
{
    apr_pool_t *p = test_setup();
    mab_hdrenc_e e = MAB_HDRENC_LATIN1;
    const char *why = NULL;
    mab_hdrval_e st;

    /* the directive's words */
    ok(mab_hdrenc_parse("raw", &e) == 0 && e == MAB_HDRENC_RAW, "raw");
    ok(mab_hdrenc_parse("base64url", &e) == 0 && e == MAB_HDRENC_BASE64URL, "base64url");
    ok(mab_hdrenc_parse("latin1", &e) == 0 && e == MAB_HDRENC_LATIN1, "latin1");
    ok(mab_hdrenc_parse("Base64URL", &e) == 0 && e == MAB_HDRENC_BASE64URL, "any case");
    ok(mab_hdrenc_parse("base64", &e) != 0, "base64 (not url) is refused");
    ok(mab_hdrenc_parse("utf-8", &e) != 0, "utf-8 is refused");
    ok(mab_hdrenc_parse("iso-8859-1", &e) != 0, "iso-8859-1 is refused (the word is latin1)");
    ok(mab_hdrenc_parse("", &e) != 0, "empty is refused");
    ok(mab_hdrenc_parse(NULL, &e) != 0, "NULL is refused");
    is_str(mab_hdrenc_name(MAB_HDRENC_LATIN1), "latin1", "name of latin1");

    /* raw: today's behaviour, byte for byte */
    is_str(enc_of(p, MAB_HDRENC_RAW, "auth0|alice", NULL, NULL), "auth0|alice", "raw ASCII");
    is_str(enc_of(p, MAB_HDRENC_RAW, "Cem \xc3\x96zdemir", NULL, NULL), "Cem \xc3\x96zdemir",
           "raw keeps UTF-8");
    is_str(enc_of(p, MAB_HDRENC_RAW, "\xe5\xbc\xa0\xe4\xb8\x89", NULL, NULL),
           "\xe5\xbc\xa0\xe4\xb8\x89", "raw keeps CJK");
    is_str(enc_of(p, MAB_HDRENC_RAW, "a\tb", NULL, NULL), "a\tb", "raw: an inner tab is fine");
    is_str(enc_of(p, MAB_HDRENC_RAW, "", NULL, NULL), "", "raw: empty string");
    ok(withheld(p, MAB_HDRENC_RAW, "a\r\nX-Admin: 1", MAB_HDRVAL_UNSAFE), "raw: CR LF withheld");
    ok(withheld(p, MAB_HDRENC_RAW, "a\x7f", MAB_HDRVAL_UNSAFE), "raw: DEL withheld");
    ok(withheld(p, MAB_HDRENC_RAW, " evil", MAB_HDRVAL_UNSAFE), "raw: leading space withheld");
    ok(withheld(p, MAB_HDRENC_RAW, "evil,", MAB_HDRVAL_UNSAFE), "raw: trailing comma withheld");
    ok(withheld(p, MAB_HDRENC_RAW, "evil\t", MAB_HDRVAL_UNSAFE), "raw: trailing tab withheld");
    is_str(enc_of(p, MAB_HDRENC_RAW,
                  "a\xc2\x85"
                  "b",
                  NULL, NULL),
           "a\xc2\x85"
           "b",
           "raw: bytes are not interpreted (U+0085 passes, as before this directive)");
    enc_of(p, MAB_HDRENC_RAW, "a\nb", &st, &why);
    is_str(why, "holds control characters", "raw: the reason for a control character");

    /* base64url of the UTF-8 bytes: anything travels, nothing is withheld */
    is_str(enc_of(p, MAB_HDRENC_BASE64URL, "Cem \xc3\x96zdemir", NULL, NULL), "Q2VtIMOWemRlbWly",
           "base64url of UTF-8");
    is_str(enc_of(p, MAB_HDRENC_BASE64URL, "\xe5\xbc\xa0\xe4\xb8\x89", NULL, NULL), "5byg5LiJ",
           "base64url of CJK, no padding");
    is_str(enc_of(p, MAB_HDRENC_BASE64URL, " evil", NULL, NULL), "IGV2aWw",
           "base64url: a leading space is carried, not withheld");
    is_str(enc_of(p, MAB_HDRENC_BASE64URL, "a\r\nb", NULL, NULL), "YQ0KYg",
           "base64url: CR LF is carried safely");
    is_str(enc_of(p, MAB_HDRENC_BASE64URL, "[\"Zo\xc3\xab\",\"\xe6\x9d\x8e\"]", NULL, NULL),
           "WyJab8OrIiwi5p2OIl0", "base64url of a JSON array claim");
    is_str(enc_of(p, MAB_HDRENC_BASE64URL, "", NULL, NULL), "", "base64url: empty string");

    /* latin1 */
    is_str(enc_of(p, MAB_HDRENC_LATIN1, "auth0|alice", NULL, NULL), "auth0|alice",
           "latin1: ASCII unchanged");
    is_str(enc_of(p, MAB_HDRENC_LATIN1, "Cem \xc3\x96zdemir", NULL, NULL), "Cem \xd6zdemir",
           "latin1: U+00D6 is one byte 0xD6");
    is_str(enc_of(p, MAB_HDRENC_LATIN1, "\xc2\xa0x\xc3\xbf", NULL, NULL), "\xa0x\xff",
           "latin1: U+00A0 and U+00FF, the range's ends");
    is_str(enc_of(p, MAB_HDRENC_LATIN1, "[\"Zo\xc3\xab\"]", NULL, NULL), "[\"Zo\xeb\"]",
           "latin1 of a JSON array claim");
    ok(!enc_of(p, MAB_HDRENC_LATIN1, "\xc4\x80", &st, &why) && st == MAB_HDRVAL_NOT_LATIN1,
       "latin1: U+0100 is withheld, never substituted");
    is_str(why, "holds U+0100, which Latin-1 cannot represent", "latin1: the reason names it");
    ok(!enc_of(p, MAB_HDRENC_LATIN1, "Zo\xc3\xab \xe5\xbc\xa0", &st, &why)
           && st == MAB_HDRVAL_NOT_LATIN1,
       "latin1: CJK after a Latin-1 character is withheld");
    is_str(why, "holds U+5F20, which Latin-1 cannot represent", "latin1: U+5F20 named");
    ok(!enc_of(p, MAB_HDRENC_LATIN1, "\xf0\x9f\x98\x80", &st, &why), "latin1: an emoji");
    is_str(why, "holds U+1F600, which Latin-1 cannot represent", "latin1: U+1F600 named");
    ok(withheld(p, MAB_HDRENC_LATIN1, "\xc3", MAB_HDRVAL_NOT_LATIN1), "latin1: truncated UTF-8");
    ok(withheld(p, MAB_HDRENC_LATIN1, "\xc1\x81", MAB_HDRVAL_NOT_LATIN1),
       "latin1: overlong 'A' is not UTF-8");
    ok(withheld(p, MAB_HDRENC_LATIN1, "\xe0\x80\xa0", MAB_HDRVAL_NOT_LATIN1),
       "latin1: overlong three-byte form");
    ok(withheld(p, MAB_HDRENC_LATIN1, "\xed\xa0\x80", MAB_HDRVAL_NOT_LATIN1),
       "latin1: a UTF-16 surrogate is not UTF-8");
    ok(withheld(p, MAB_HDRENC_LATIN1, "\xf4\x90\x80\x80", MAB_HDRVAL_NOT_LATIN1),
       "latin1: beyond U+10FFFF");
    ok(withheld(p, MAB_HDRENC_LATIN1, "\xa0", MAB_HDRVAL_NOT_LATIN1),
       "latin1: a lone continuation byte");
    ok(withheld(p, MAB_HDRENC_LATIN1,
                "a\xc2\x85"
                "b",
                MAB_HDRVAL_UNSAFE),
       "latin1: U+0085 (NEL) would be the control byte 0x85: withheld");
    ok(withheld(p, MAB_HDRENC_LATIN1, "a\r\nb", MAB_HDRVAL_UNSAFE), "latin1: CR LF withheld");
    ok(withheld(p, MAB_HDRENC_LATIN1, "\xc3\x96 ", MAB_HDRVAL_UNSAFE),
       "latin1: trailing space withheld");
    return tap_done();
}
