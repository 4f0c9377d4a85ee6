#!/usr/bin/perl
# What a protected application receives from mod_auth_bearer: REMOTE_USER, AUTH_TYPE, one
# BEARER_CLAIM_<NAME> variable per claim, and BEARER_CLAIMS (the whole payload as JSON).
use strict;
use warnings;
use JSON::PP;

my %claim_vars = map { $_ => $ENV{$_} } grep { /^BEARER_CLAIM_/ } keys %ENV;
my $out = {
    REMOTE_USER   => $ENV{REMOTE_USER},
    AUTH_TYPE     => $ENV{AUTH_TYPE},
    BEARER_CLAIMS => $ENV{BEARER_CLAIMS},
    %claim_vars,
};
print "Content-Type: application/json\r\n\r\n", JSON::PP->new->canonical->pretty->encode($out);
