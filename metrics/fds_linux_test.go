package metrics

import (
	"os"
	"testing"
)

// TestCountFDs checks the getdents count against descriptors opened on
// purpose and against Readdirnames, with a buffer small enough that the
// directory takes many reads.
func TestCountFDs(t *testing.T) {
	before, err := countFDs()
	if err != nil {
		t.Fatal(err)
	}
	const extra = 300
	files := make([]*os.File, 0, extra)
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	for range extra {
		f, err := os.Open(os.DevNull)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	after, err := countFDs()
	if err != nil {
		t.Fatal(err)
	}
	if after-before != extra {
		t.Errorf("count went from %d to %d after opening %d files", before, after, extra)
	}
	d, err := os.Open("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	names, err := d.Readdirnames(-1)
	d.Close()
	if err != nil {
		t.Fatal(err)
	}
	for _, size := range []int{64, 32 << 10} {
		n, err := countFDsBuf(size)
		if err != nil {
			t.Fatal(err)
		}
		if n != len(names)-1 { // Readdirnames counts its own descriptor
			t.Errorf("%d-byte reads: count %d, Readdirnames saw %d besides its own", size, n, len(names)-1)
		}
	}
}

func TestCountDirentsMalformed(t *testing.T) {
	rec := make([]byte, 24)
	rec[16] = 200 // d_reclen past the buffer
	if _, err := countDirents(rec, nil); err == nil {
		t.Error("no error on a record longer than the buffer")
	}
	if _, err := countDirents(rec[:10], nil); err == nil {
		t.Error("no error on a truncated record")
	}
}
