package cache

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"

	"github.com/codecommitd/codecommitd/internal/privdir"
)

// The bbolt file format (version 2), as far as it decides whether bbolt
// can map the file without faulting: every page a reader can reach must lie
// inside the file, be of the kind its parent says, and hold its elements
// within its bounds. See go.etcd.io/bbolt/internal/common.
const (
	boltMagic        = 0xED0CDAED
	boltVersion      = 2
	pageHeaderSize   = 16 // id u64, flags u16, count u16, overflow u32
	metaSize         = 64 // magic, version, pageSize, flags u32; root {pgid, seq}; freelist, pgid, txid, checksum u64
	metaChecksumAt   = 56
	branchElemSize   = 16 // pos u32, ksize u32, pgid u64
	leafElemSize     = 16 // flags u32, pos u32, ksize u32, vsize u32
	bucketHeaderSize = 16 // root pgid u64, sequence u64
	branchPage       = 0x01
	leafPage         = 0x02
	metaPage         = 0x04
	freelistPage     = 0x10
	bucketLeafFlag   = 0x01
	noFreelist       = ^uint64(0)
	// maxFileSize bounds what is checked: the cache holds a few hundred
	// records at most.
	maxFileSize = 256 << 20
	// maxDepth bounds the tree's depth (and nested buckets).
	maxDepth = 64
)

// ErrCorrupt reports a file bbolt cannot safely open: too short for what
// its header says, a torn or scribbled page, a wrong magic number.
var ErrCorrupt = errors.New("the cache file is damaged")

// fileInfo is what the check learns of a sound file.
type fileInfo struct {
	pageSize int
	pages    uint64
	txid     uint64
	// keyHome is meta/key_home: where the key that seals the file lives.
	keyHome string
	// hasMeta reports whether the file has a meta bucket (version ≥ 1).
	hasMeta bool
}

// checkFile reads the file at path (without mapping it) and reports
// whether bbolt can open it without reading past its end or following a
// broken page: both meta pages, the high water mark against the file's
// size, the freelist, and every page of every bucket, nested and inline.
// It never panics, whatever the bytes; an empty file passes (bbolt fills
// it in as a new one). The file is opened as privdir opens
// what another user may have placed: a symlink, a FIFO, a file of another
// user's or one open to others is refused with a *privdir.FileError.
func checkFile(path string) (info fileInfo, err error) {
	f, err := privdir.OpenFile(path, os.O_RDONLY, 0)
	if err != nil {
		return fileInfo{}, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fileInfo{}, err
	}
	size := fi.Size()
	if size == 0 {
		return fileInfo{}, nil // what bbolt makes of a new file
	}
	if size > maxFileSize {
		return fileInfo{}, fmt.Errorf("%w: %d bytes, more than a credential cache can hold", ErrCorrupt, size)
	}
	data := make([]byte, size)
	if _, err := io.ReadFull(f, data); err != nil {
		return fileInfo{}, err
	}
	defer func() {
		if r := recover(); r != nil { // belt and braces: the checks below index with bounds
			err = fmt.Errorf("%w: %v", ErrCorrupt, r)
		}
	}()
	return check(data)
}

type meta struct {
	pageSize             int
	root, freelist, pgid uint64
	txid                 uint64
}

func readMeta(data []byte, off int) (meta, bool) {
	if off < 0 || off+pageHeaderSize+metaSize > len(data) {
		return meta{}, false
	}
	if binary.LittleEndian.Uint16(data[off+8:]) != metaPage {
		return meta{}, false
	}
	m := data[off+pageHeaderSize : off+pageHeaderSize+metaSize]
	if binary.LittleEndian.Uint32(m[0:]) != boltMagic || binary.LittleEndian.Uint32(m[4:]) != boltVersion {
		return meta{}, false
	}
	h := fnv.New64a()
	h.Write(m[:metaChecksumAt])
	if h.Sum64() != binary.LittleEndian.Uint64(m[metaChecksumAt:]) {
		return meta{}, false
	}
	return meta{
		pageSize: int(binary.LittleEndian.Uint32(m[8:])),
		root:     binary.LittleEndian.Uint64(m[16:]),
		freelist: binary.LittleEndian.Uint64(m[32:]),
		pgid:     binary.LittleEndian.Uint64(m[40:]),
		txid:     binary.LittleEndian.Uint64(m[48:]),
	}, true
}

func check(data []byte) (fileInfo, error) {
	corrupt := func(format string, args ...any) (fileInfo, error) {
		return fileInfo{}, fmt.Errorf("%w: "+format, append([]any{ErrCorrupt}, args...)...)
	}
	m0, ok0 := readMeta(data, 0)
	ps := m0.pageSize
	if !ok0 {
		// bbolt then looks for the second meta page at the usual sizes.
		for _, try := range []int{4096, 8192, 16384, 32768, 65536, 1024, 2048} {
			if m, ok := readMeta(data, try); ok && m.pageSize == try {
				ps = try
				break
			}
		}
	}
	if ps < 1024 || ps > 65536 || ps&(ps-1) != 0 {
		return corrupt("no valid meta page")
	}
	m1, ok1 := readMeta(data, ps)
	if ok0 && m0.pageSize != ps || ok1 && m1.pageSize != ps {
		return corrupt("meta pages disagree on the page size")
	}
	// bbolt uses the valid meta page with the higher transaction id.
	m := m0
	if !ok0 || ok1 && m1.txid > m0.txid {
		m = m1
	}
	if !ok0 && !ok1 {
		return corrupt("no valid meta page")
	}
	if m.pgid < 4 || m.pgid > uint64(len(data)/ps) {
		return corrupt("its header says %d pages of %d bytes, the file holds %d bytes", m.pgid, ps, len(data))
	}
	c := &checker{data: data, ps: ps, pages: m.pgid, seen: map[uint64]bool{0: true, 1: true}}
	freed := map[uint64]bool{}
	if m.freelist != noFreelist {
		ids, err := c.freelist(m.freelist)
		if err != nil {
			return fileInfo{}, err
		}
		for _, id := range ids {
			freed[id] = true
		}
	}
	info := fileInfo{pageSize: ps, pages: m.pgid, txid: m.txid}
	if err := c.tree(m.root, 0, "", &info); err != nil {
		return fileInfo{}, err
	}
	for id := range c.seen {
		if freed[id] {
			return corrupt("page %d is both in use and free", id)
		}
	}
	return info, nil
}

type checker struct {
	data  []byte
	ps    int
	pages uint64
	seen  map[uint64]bool
}

// page returns page id's bytes (with its overflow pages), after checking
// that it lies inside the file and is of the kind want.
func (c *checker) page(id uint64, want uint16) ([]byte, error) {
	if id < 2 || id >= c.pages {
		return nil, fmt.Errorf("%w: a reference to page %d, outside pages 2..%d", ErrCorrupt, id, c.pages-1)
	}
	off := int(id) * c.ps
	h := c.data[off : off+pageHeaderSize]
	if got := binary.LittleEndian.Uint64(h); got != id {
		return nil, fmt.Errorf("%w: page %d says it is page %d", ErrCorrupt, id, got)
	}
	if flags := binary.LittleEndian.Uint16(h[8:]); flags != want {
		return nil, fmt.Errorf("%w: page %d has kind %#x, want %#x", ErrCorrupt, id, flags, want)
	}
	overflow := uint64(binary.LittleEndian.Uint32(h[12:]))
	if id+overflow >= c.pages {
		return nil, fmt.Errorf("%w: page %d runs past the last page", ErrCorrupt, id)
	}
	for o := id; o <= id+overflow; o++ {
		if c.seen[o] {
			return nil, fmt.Errorf("%w: page %d is reached twice", ErrCorrupt, o)
		}
		c.seen[o] = true
	}
	return c.data[off : off+int(overflow+1)*c.ps], nil
}

func (c *checker) freelist(id uint64) ([]uint64, error) {
	p, err := c.page(id, freelistPage)
	if err != nil {
		return nil, err
	}
	start, n := pageHeaderSize, uint64(binary.LittleEndian.Uint16(p[10:]))
	if n == 0xFFFF {
		if len(p) < pageHeaderSize+8 {
			return nil, fmt.Errorf("%w: freelist page %d is cut short", ErrCorrupt, id)
		}
		n = binary.LittleEndian.Uint64(p[pageHeaderSize:])
		start += 8
	}
	if n > uint64(len(p)-start)/8 {
		return nil, fmt.Errorf("%w: freelist page %d lists more ids than it holds", ErrCorrupt, id)
	}
	ids := make([]uint64, n)
	for i := range ids {
		ids[i] = binary.LittleEndian.Uint64(p[start+8*i:])
		if ids[i] < 2 || ids[i] >= c.pages {
			return nil, fmt.Errorf("%w: freelist page %d lists page %d, outside the file", ErrCorrupt, id, ids[i])
		}
	}
	return ids, nil
}

// tree checks the bucket rooted at page root (a branch or leaf page).
func (c *checker) tree(root uint64, depth int, path string, info *fileInfo) error {
	if depth > maxDepth {
		return fmt.Errorf("%w: the tree is deeper than %d", ErrCorrupt, maxDepth)
	}
	if root < 2 || root >= c.pages {
		return fmt.Errorf("%w: a reference to page %d, outside pages 2..%d", ErrCorrupt, root, c.pages-1)
	}
	off := int(root) * c.ps
	flags := binary.LittleEndian.Uint16(c.data[off+8:])
	p, err := c.page(root, flags)
	if err != nil {
		return err
	}
	switch flags {
	case branchPage:
		return c.branch(p, root, depth, path, info)
	case leafPage:
		return c.leaf(p, root, depth, path, info)
	}
	return fmt.Errorf("%w: page %d is neither a branch nor a leaf", ErrCorrupt, root)
}

func (c *checker) branch(p []byte, id uint64, depth int, path string, info *fileInfo) error {
	n := int(binary.LittleEndian.Uint16(p[10:]))
	if n == 0 || pageHeaderSize+n*branchElemSize > len(p) {
		return fmt.Errorf("%w: branch page %d has %d elements", ErrCorrupt, id, n)
	}
	for i := range n {
		at := pageHeaderSize + i*branchElemSize
		e := p[at : at+branchElemSize]
		pos, ksize := int(binary.LittleEndian.Uint32(e)), int(binary.LittleEndian.Uint32(e[4:]))
		if at+pos+ksize > len(p) || pos < 0 || ksize < 0 {
			return fmt.Errorf("%w: branch page %d, element %d points outside the page", ErrCorrupt, id, i)
		}
		if err := c.tree(binary.LittleEndian.Uint64(e[8:]), depth+1, path, info); err != nil {
			return err
		}
	}
	return nil
}

func (c *checker) leaf(p []byte, id uint64, depth int, path string, info *fileInfo) error {
	n := int(binary.LittleEndian.Uint16(p[10:]))
	if pageHeaderSize+n*leafElemSize > len(p) {
		return fmt.Errorf("%w: leaf page %d has %d elements", ErrCorrupt, id, n)
	}
	for i := range n {
		at := pageHeaderSize + i*leafElemSize
		e := p[at : at+leafElemSize]
		flags := binary.LittleEndian.Uint32(e)
		pos, ksize, vsize := int(binary.LittleEndian.Uint32(e[4:])), int(binary.LittleEndian.Uint32(e[8:])), int(binary.LittleEndian.Uint32(e[12:]))
		end := at + pos + ksize + vsize
		if pos < 0 || ksize < 0 || vsize < 0 || end > len(p) || end < at {
			return fmt.Errorf("%w: leaf page %d, element %d points outside the page", ErrCorrupt, id, i)
		}
		key := p[at+pos : at+pos+ksize]
		value := p[at+pos+ksize : end]
		bucket := flags == bucketLeafFlag
		switch {
		case flags != 0 && flags != bucketLeafFlag:
			return fmt.Errorf("%w: leaf page %d, element %d has flags %#x", ErrCorrupt, id, i, flags)
		case path == "" && !bucket:
			return fmt.Errorf("%w: a value where only buckets may be (page %d)", ErrCorrupt, id)
		}
		if path == "" && bucket && string(key) == string(bucketMeta) {
			info.hasMeta = true
		}
		if path == string(bucketMeta) && !bucket && string(key) == string(keyKeyHome) {
			info.keyHome = string(value)
		}
		if !bucket {
			continue
		}
		if err := c.bucket(value, depth, string(key), info); err != nil {
			return err
		}
	}
	return nil
}

// bucket checks a bucket value: its root page, or its inline page.
func (c *checker) bucket(v []byte, depth int, path string, info *fileInfo) error {
	if len(v) < bucketHeaderSize {
		return fmt.Errorf("%w: bucket %q has a short header", ErrCorrupt, path)
	}
	if root := binary.LittleEndian.Uint64(v); root != 0 {
		return c.tree(root, depth+1, path, info)
	}
	inline := v[bucketHeaderSize:]
	if len(inline) < pageHeaderSize {
		return fmt.Errorf("%w: inline bucket %q is cut short", ErrCorrupt, path)
	}
	if flags := binary.LittleEndian.Uint16(inline[8:]); flags != leafPage {
		return fmt.Errorf("%w: inline bucket %q is not a leaf", ErrCorrupt, path)
	}
	if depth > maxDepth {
		return fmt.Errorf("%w: buckets nest deeper than %d", ErrCorrupt, maxDepth)
	}
	return c.leaf(inline, 0, depth+1, path, info)
}
