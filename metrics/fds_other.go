//go:build !linux

package metrics

import "errors"

var errNotLinux = errors.New("metrics: process_open_fds and process_max_fds need Linux; leave process_* families out of the scrape elsewhere")

func countFDs() (int, error) { return 0, errNotLinux }

func maxFDs() (uint64, error) { return 0, errNotLinux }
