package wasmbin

import (
	"fmt"
	"strconv"
)

// Export names the instrumented module adds, in the "__edge_snapshot_"
// namespace no real module uses.
const (
	globalExportPrefix = "__edge_snapshot_global_"
	memoryExport       = "__edge_snapshot_memory"
)

// InitExports are the exports that mark a module as pre-initialisable, in
// order of preference: Wizer's convention, then a WASI reactor's.
var InitExports = []string{"wizer.initialize", "_initialize"}

// Plan is what the host needs to take a snapshot of an instrumented
// module: the init function to call, a getter export per mutable global,
// and the export that reaches the linear memory.
type Plan struct {
	Init         string
	Globals      []GlobalRef
	MemoryExport string // "" when the module has no memory
}

// GlobalRef is a defined mutable global and the function the instrumented
// module exports to read it.
type GlobalRef struct {
	Index  uint32 // in the global index space (imports first)
	Type   byte   // I32, I64, F32, F64 or V128
	Getter string
}

// FindInit returns the first of InitExports that wasm exports as a
// function, or "".
func FindInit(wasm []byte) (string, error) {
	m, err := Parse(wasm)
	if err != nil {
		return "", err
	}
	exps, err := Exports(m.Section(SecExport))
	if err != nil {
		return "", err
	}
	for _, want := range InitExports {
		for _, e := range exps {
			if e.Name == want && e.Kind == KindFunc {
				return want, nil
			}
		}
	}
	return "", nil
}

// shape is what instrumenting and rewriting both need to know of a module.
type shape struct {
	m          *Module
	imports    []Import
	globals    []Global
	exports    []Export
	memories   []Limits
	funcImps   int
	globalImps int
}

func readShape(wasm []byte) (*shape, error) {
	m, err := Parse(wasm)
	if err != nil {
		return nil, err
	}
	s := &shape{m: m}
	if s.imports, err = Imports(m.Section(SecImport)); err != nil {
		return nil, err
	}
	if s.globals, err = Globals(m.Section(SecGlobal)); err != nil {
		return nil, err
	}
	if s.exports, err = Exports(m.Section(SecExport)); err != nil {
		return nil, err
	}
	if s.memories, err = Memories(m.Section(SecMemory)); err != nil {
		return nil, err
	}
	for _, im := range s.imports {
		switch im.Kind {
		case KindFunc:
			s.funcImps++
		case KindGlobal:
			if len(im.Desc) > 0 && im.Desc[len(im.Desc)-1] == 1 {
				return nil, fmt.Errorf("%w: imports mutable global %s.%s, whose value the snapshot cannot own", ErrUnsupported, im.Module, im.Name)
			}
			s.globalImps++
		case KindMemory:
			return nil, fmt.Errorf("%w: imports its memory (%s.%s)", ErrUnsupported, im.Module, im.Name)
		}
	}
	if len(s.memories) > 1 {
		return nil, fmt.Errorf("%w: %d memories", ErrUnsupported, len(s.memories))
	}
	if len(s.memories) == 1 && s.memories[0].Flags&^1 != 0 {
		return nil, fmt.Errorf("%w: a shared, 64-bit or custom-page-size memory", ErrUnsupported)
	}
	return s, nil
}

func (s *shape) hasExport(name string, kind byte) bool {
	for _, e := range s.exports {
		if e.Name == name && e.Kind == kind {
			return true
		}
	}
	return false
}

// Instrument returns wasm with a getter function exported for every
// mutable global and its memory exported, as Wizer does, so the host can
// read the state init leaves; and the plan for reading it. init names the
// export to call; it must be a function export.
func Instrument(wasm []byte, init string) ([]byte, *Plan, error) {
	s, err := readShape(wasm)
	if err != nil {
		return nil, nil, err
	}
	if !s.hasExport(init, KindFunc) {
		return nil, nil, fmt.Errorf("%w: no function export %q to initialise with", ErrUnsupported, init)
	}
	plan := &Plan{Init: init}
	types, err := Count(s.m.Section(SecType))
	if err != nil {
		return nil, nil, err
	}
	funcs, err := Count(s.m.Section(SecFunction))
	if err != nil {
		return nil, nil, err
	}
	typeOf := map[byte]uint32{}
	var newTypes, newFuncs, newBodies [][]byte
	exps := s.exports
	for i, g := range s.globals {
		if !g.Mutable {
			continue
		}
		if len(g.Type) != 1 || !isNumeric(g.Type[0]) {
			return nil, nil, fmt.Errorf("%w: mutable global %d of reference type", ErrUnsupported, i)
		}
		vt := g.Type[0]
		ti, ok := typeOf[vt]
		if !ok {
			ti = uint32(types + len(newTypes))
			typeOf[vt] = ti
			newTypes = append(newTypes, []byte{0x60, 0, 1, vt}) // func () -> vt
		}
		idx := uint32(s.globalImps + i)
		body := append([]byte{0, 0x23}, appendULEB(nil, uint64(idx))...) // no locals; global.get idx
		body = append(body, 0x0b)
		newFuncs = append(newFuncs, appendULEB(nil, uint64(ti)))
		newBodies = append(newBodies, append(appendULEB(nil, uint64(len(body))), body...))
		ref := GlobalRef{Index: idx, Type: vt, Getter: globalExportPrefix + strconv.Itoa(int(idx))}
		plan.Globals = append(plan.Globals, ref)
		fn := uint32(s.funcImps + funcs + len(newFuncs) - 1)
		exps = append(exps, Export{Name: ref.Getter, Kind: KindFunc, Index: fn})
	}
	if len(s.memories) == 1 {
		plan.MemoryExport = memoryExport
		exps = append(exps, Export{Name: memoryExport, Kind: KindMemory, Index: 0})
	}
	if len(newFuncs) > 0 {
		if err := s.appendTo(SecType, newTypes); err != nil {
			return nil, nil, err
		}
		if err := s.appendTo(SecFunction, newFuncs); err != nil {
			return nil, nil, err
		}
		if err := s.appendTo(SecCode, newBodies); err != nil {
			return nil, nil, err
		}
	}
	s.m.SetSection(SecExport, EncodeExports(exps))
	return s.m.Bytes(), plan, nil
}

func (s *shape) appendTo(id byte, items [][]byte) error {
	b, err := AppendItems(s.m.Section(id), items...)
	if err != nil {
		return err
	}
	s.m.SetSection(id, b)
	return nil
}

func isNumeric(t byte) bool { return t == I32 || t == I64 || t == F32 || t == F64 || t == V128 }
