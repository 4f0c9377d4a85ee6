#!/usr/bin/perl
# The API of Auth0's "Using your API" quickstart, as a CGI program: one JSON message per endpoint.
# httpd (mod_auth_bearer) has already decided who may see which; this program only answers.
use strict;
use warnings;

my %message = (
    'public'         => "Hello from a public endpoint! You don't need to be authenticated to see this.",
    'private'        => 'Hello from a private endpoint! You need to be authenticated to see this.',
    'private-scoped' => 'Hello from a private endpoint! You need to be authenticated and have a scope '
                      . 'of read:messages to see this.',
);
my ($which) = ($ENV{SCRIPT_NAME} // '') =~ m{^/api/([a-z-]+)$};
my $msg = defined $which ? $message{$which} : undef;
if (!defined $msg) {
    print "Status: 404 Not Found\r\nContent-Type: application/json\r\n\r\n",
          qq({"message":"Not found"}\n);
    exit 0;
}
(my $json = $msg) =~ s/(["\\])/\\$1/g;
print "Content-Type: application/json\r\n\r\n", qq({"message":"$json"}\n);
