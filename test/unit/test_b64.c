#include "mab_b64.h"
#include "tap.h"
#include "testutil.h"

static int dec(apr_pool_t *p, const char *in, const char *want)
{
    unsigned char *out = NULL;
    apr_size_t len = 0;

    if (mab_b64url_decode(p, in, strlen(in), &out, &len) != 0) {
        return 0;
    }
    return want && len == strlen(want) && memcmp(out, want, len) == 0;
}

static int rejects(apr_pool_t *p, const char *in)
{
    unsigned char *out = NULL;
    apr_size_t len = 0;

    return mab_b64url_decode(p, in, strlen(in), &out, &len) != 0;
}

int main(void)
{
    apr_pool_t *p = test_setup();
    static const unsigned char bin[] = {0xfb, 0xff, 0xfe, 0x00, 0x3e, 0x3f};
    unsigned char *out = NULL;
    apr_size_t len = 0;

    ok(dec(p, "", ""), "empty input decodes to nothing");
    ok(dec(p, "Zg", "f"), "one byte, no padding");
    ok(dec(p, "Zm8", "fo"), "two bytes, no padding");
    ok(dec(p, "Zm9v", "foo"), "three bytes");
    ok(dec(p, "Zm9vYmFy", "foobar"), "six bytes");
    is_str(mab_b64url_encode(p, bin, sizeof(bin)), "-__-AD4_", "encode uses - and _");
    ok(mab_b64url_decode(p, "-__-AD4_", 8, &out, &len) == 0 && len == sizeof(bin)
           && memcmp(out, bin, len) == 0,
       "round trip of binary data");
    ok(rejects(p, "Zg=="), "padding is rejected");
    ok(rejects(p, "Zm8="), "single padding is rejected");
    ok(rejects(p, "+/8A"), "standard base64 + and / are rejected");
    ok(rejects(p, "Zm 9v"), "embedded space is rejected");
    ok(rejects(p, "Zm9v\n"), "trailing newline is rejected");
    ok(rejects(p, "Z"), "a single leftover character is rejected");
    ok(rejects(p, "Zh"), "non-zero trailing bits (second spelling of 'f') are rejected");
    ok(rejects(p, "Zm9"), "non-zero trailing bits after two bytes are rejected");
    ok(mab_b64url_decode(p, "Zm9v\0YmFy", 9, &out, &len) != 0, "NUL inside is rejected");

    /* into a caller's buffer: the same rules, and its size is a bound */
    {
        unsigned char buf[6];
        char text[MAB_B64URL_LEN(sizeof(bin)) + 1];

        ok(mab_b64url_decode_into("-__-AD4_", 8, buf, sizeof(buf), &len) == 0 && len == sizeof(bin)
               && memcmp(buf, bin, len) == 0,
           "decode into a buffer of exactly the size");
        ok(mab_b64url_decode_into("-__-AD4_", 8, buf, 5, &len) != 0,
           "decode into a buffer one byte short: refused");
        ok(mab_b64url_decode_into("Zh", 2, buf, sizeof(buf), &len) != 0,
           "decode into a buffer: non-zero trailing bits still refused");
        is_int((int)mab_b64url_encode_into(bin, sizeof(bin), text), 8, "encode into: its length");
        is_str(text, "-__-AD4_", "encode into: the same text");
        is_int(MAB_B64URL_LEN(32), 43, "a SHA-256 digest is 43 characters");
    }
    return tap_done();
}
