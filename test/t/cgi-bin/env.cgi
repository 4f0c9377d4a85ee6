#!/usr/bin/perl
# Prints the CGI environment as one JSON object. Values are the raw bytes httpd passed, each byte
# as one code point (\u00XX above 0x7f), so the test can recover them exactly (utf8::decode).
use strict;
use warnings;
use JSON::PP ();

print "Content-Type: application/json\r\n\r\n";
print JSON::PP->new->ascii->canonical->encode({%ENV}), "\n";
