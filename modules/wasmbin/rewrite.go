package wasmbin

import (
	"encoding/binary"
	"fmt"
)

// PageSize is a wasm page; SnapshotPage is the granularity at which the
// snapshot's memory is cut into data segments: the host's page, so that
// the copy-on-write image maps whole pages and skips the zero ones.
const (
	PageSize     = 64 << 10
	SnapshotPage = 4 << 10
)

// Value is a global's value as Wasmtime's raw value holds it: little
// endian, 4, 8 or 16 bytes used.
type Value [16]byte

// State is what init left: a value per global of the plan, in its order,
// and the whole linear memory.
type State struct {
	Globals []Value
	Memory  []byte
}

// Rewrite returns the original module (the bytes Instrument was given)
// with the state baked in: each mutable global initialised to its value,
// the memory's initial size and contents those of the snapshot, and the
// start function and init exports removed, so that an instance of the
// result is where init left off without running anything. Equal inputs
// give equal bytes.
func Rewrite(wasm []byte, plan *Plan, st *State) ([]byte, error) {
	s, err := readShape(wasm)
	if err != nil {
		return nil, err
	}
	if len(st.Globals) != len(plan.Globals) {
		return nil, fmt.Errorf("wasmbin: %d global values for %d globals", len(st.Globals), len(plan.Globals))
	}
	for i, ref := range plan.Globals {
		at := int(ref.Index) - s.globalImps
		if at < 0 || at >= len(s.globals) || !s.globals[at].Mutable || string(s.globals[at].Type) != string([]byte{ref.Type}) {
			return nil, fmt.Errorf("wasmbin: plan does not fit the module (global %d)", ref.Index)
		}
		s.globals[at].Init = constOf(ref.Type, st.Globals[i])
	}
	if len(plan.Globals) > 0 {
		s.m.SetSection(SecGlobal, EncodeGlobals(s.globals))
	}
	if err := s.setMemory(st.Memory); err != nil {
		return nil, err
	}
	s.dropInit(plan.Init)
	s.m.RemoveSection(SecStart)
	return s.m.Bytes(), nil
}

// constOf is the constant expression for a value of type t.
func constOf(t byte, v Value) []byte {
	var b []byte
	switch t {
	case I32:
		b = appendSLEB([]byte{0x41}, int64(int32(binary.LittleEndian.Uint32(v[:]))))
	case I64:
		b = appendSLEB([]byte{0x42}, int64(binary.LittleEndian.Uint64(v[:])))
	case F32:
		b = append([]byte{0x43}, v[:4]...)
	case F64:
		b = append([]byte{0x44}, v[:8]...)
	case V128:
		b = append([]byte{0xfd, 12}, v[:]...)
	}
	return append(b, 0x0b)
}

// dropInit removes the init export and _initialize: the module's
// initialisation has run, and a reactor's _initialize must not run again
// on top of it.
func (s *shape) dropInit(init string) {
	out := s.exports[:0]
	for _, e := range s.exports {
		if e.Kind == KindFunc && (e.Name == init || e.Name == "_initialize") {
			continue
		}
		out = append(out, e)
	}
	s.m.SetSection(SecExport, EncodeExports(out))
}

// setMemory makes the snapshot's memory the module's initial memory. The
// original active segments would overwrite it at instantiation, so they
// go; if the module uses passive segments (or declares a data count),
// each original segment stays in place as an empty passive one instead,
// keeping the segment indices its code uses.
func (s *shape) setMemory(mem []byte) error {
	if len(s.memories) == 0 {
		if len(mem) != 0 {
			return fmt.Errorf("wasmbin: memory contents for a module without memory")
		}
		return nil
	}
	if len(mem)%PageSize != 0 {
		return fmt.Errorf("wasmbin: memory of %d bytes is not whole pages", len(mem))
	}
	lim := s.memories[0]
	lim.Min = uint64(len(mem) / PageSize)
	if lim.Flags&1 != 0 && lim.Min > lim.Max {
		return fmt.Errorf("wasmbin: memory of %d pages above its maximum %d", lim.Min, lim.Max)
	}
	s.m.SetSection(SecMemory, EncodeMemories([]Limits{lim}))
	orig, err := Datas(s.m.Section(SecData))
	if err != nil {
		return err
	}
	keep := s.m.Section(SecDataCount) != nil
	for _, d := range orig {
		keep = keep || d.Passive
	}
	var segs []Data
	if keep {
		for _, d := range orig {
			if !d.Passive {
				d = Data{Passive: true}
			}
			segs = append(segs, d)
		}
	}
	segs = append(segs, segments(mem)...)
	if keep {
		s.m.SetSection(SecDataCount, appendULEB(nil, uint64(len(segs))))
	}
	if len(segs) == 0 {
		s.m.RemoveSection(SecData)
		return nil
	}
	s.m.SetSection(SecData, EncodeDatas(segs))
	return nil
}

// segments cuts memory into active segments covering its non-zero
// SnapshotPages: consecutive such pages make one segment, trimmed of its
// leading and trailing zero bytes. Zero pages need no segment (fresh
// memory is zero), which keeps the module small and the image sparse.
func segments(mem []byte) []Data {
	var out []Data
	for at := 0; at < len(mem); {
		if zero(mem[at:min(at+SnapshotPage, len(mem))]) {
			at += SnapshotPage
			continue
		}
		end := at + SnapshotPage
		for end < len(mem) && !zero(mem[end:min(end+SnapshotPage, len(mem))]) {
			end += SnapshotPage
		}
		end = min(end, len(mem))
		lo, hi := at, end
		for mem[lo] == 0 {
			lo++
		}
		for mem[hi-1] == 0 {
			hi--
		}
		out = append(out, Data{
			Offset: append(appendSLEB([]byte{0x41}, int64(int32(uint32(lo)))), 0x0b),
			Bytes:  mem[lo:hi],
		})
		at = end
	}
	return out
}

// zero reports whether p is all zero bytes, eight at a time.
func zero(p []byte) bool {
	for len(p) >= 8 {
		if binary.LittleEndian.Uint64(p) != 0 {
			return false
		}
		p = p[8:]
	}
	for _, c := range p {
		if c != 0 {
			return false
		}
	}
	return true
}
