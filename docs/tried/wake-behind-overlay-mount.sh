#!/bin/sh
mount -t tmpfs tmpfs /tmp/ovl
for i in $(seq 1 50); do mkdir -p /tmp/ovl/l$i; touch /tmp/ovl/l$i/f$i; done
mkdir -p /tmp/ovl/merged
./yield 0 50 2000
./yield 1 50 2000
./yield 1 10 2000
./yield 0 50 2000
./yield 1 50 2000
