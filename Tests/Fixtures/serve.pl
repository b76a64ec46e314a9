#!/usr/bin/perl
# A model server stand-in for scripts/image-check.sh, in the Perl that Debian's minbase holds (no Python in
# the image): GET /healthz and /readyz answer 200; POST /predict answers one prediction per instance.
use strict;
use warnings;
use IO::Socket::INET;
my $port = $ENV{PORT} or die "no PORT\n";
my $server = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => $port, Listen => 16, ReuseAddr => 1)
  or die "listen on $port: $!\n";
$SIG{TERM} = sub { exit 0 };
while (my $client = $server->accept) {
    my $request = <$client> // next;
    my ($method, $path) = split / /, $request;
    my $length = 0;
    while (my $line = <$client>) {
        last if $line =~ /^\r?\n$/;
        $length = $1 if $line =~ /^content-length:\s*(\d+)/i;
    }
    read($client, my $body, $length) if $length;
    my ($status, $answer) = (404, '{"error": "not found"}');
    ($status, $answer) = (200, '{"status": "ok"}') if $method eq 'GET' && $path =~ m{^/(healthz|readyz)$};
    ($status, $answer) = (200, '{"predictions": [{"churn_probability": 0.5}]}') if $method eq 'POST' && $path eq '/predict';
    print $client "HTTP/1.1 $status OK\r\nContent-Type: application/json\r\nContent-Length: " . length($answer)
      . "\r\nConnection: close\r\n\r\n$answer";
    close $client;
}
