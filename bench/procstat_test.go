package bench

import (
	"os"
	"testing"
)

func TestParseStatCountsFieldsAfterTheName(t *testing.T) {
	// A command name with spaces and parentheses must not shift fields.
	line := []byte("4242 (sluice (x) y) S 1 2 3 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 7 0 12345 999 444 18446744073709551615")
	cpu, threads, err := parseStat(line)
	if err != nil || cpu != 3.0 || threads != 7 {
		t.Errorf("cpu %v threads %d err %v; want 3 s, 7", cpu, threads, err)
	}
	if _, _, err := parseStat([]byte("1 (x) S 1")); err == nil {
		t.Errorf("short stat line accepted")
	}
}

func TestReadProcSelfAndSys(t *testing.T) {
	s, err := ReadProc(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if s.RSS <= 0 || s.Threads <= 0 || s.HWM < s.RSS {
		t.Errorf("self sample %+v", s)
	}
	if _, err := ReadProc(1 << 30); err == nil {
		t.Errorf("missing process accepted")
	}
	if sys := ReadSys(); sys.Slab <= 0 {
		t.Errorf("system sample %+v", sys)
	}
	inuse, tw, mem := parseSockstat([]byte("sockets: used 5\nTCP: inuse 18003 orphan 0 tw 12 alloc 18010 mem 3\nUDP: inuse 1 mem 0\n"))
	if inuse != 18003 || tw != 12 || mem != 3 {
		t.Errorf("sockstat %d %d %d", inuse, tw, mem)
	}
}
