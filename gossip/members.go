package gossip

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/hashicorp/memberlist"
)

// Member is one node as `edge members` lists it.
type Member struct {
	Name     string      `json:"name"`
	Region   string      `json:"region"`
	Addr     string      `json:"addr"`
	State    string      `json:"state"` // alive, suspect, dead, left
	Arch     string      `json:"arch"`
	Engine   string      `json:"engine"`
	Peer     string      `json:"peer"`
	Public   string      `json:"public"`
	Software string      `json:"software"`
	Apps     []MemberApp `json:"apps"`
	Error    string      `json:"error,omitempty"` // its status could not be read
}

// MemberApp is one app on one member: the version it serves and whether
// that is the winning state this node knows.
type MemberApp struct {
	App     string `json:"app"`
	Version int    `json:"version"`
	Removed bool   `json:"removed,omitempty"`
	Gen     int    `json:"gen"`
	InSync  bool   `json:"in_sync"`
}

func stateName(s memberlist.NodeStateType) string {
	switch s {
	case memberlist.StateAlive:
		return "alive"
	case memberlist.StateSuspect:
		return "suspect"
	case memberlist.StateLeft:
		return "left"
	}
	return "dead"
}

// Members lists every member ever seen, asking each live one (in
// parallel, within a second) which app versions it serves.
func (m *Mesh) Members(ctx context.Context) []Member {
	live := map[string]bool{}
	var out []Member
	for _, n := range m.liveNodes() {
		live[n.Name] = true
		meta := decodeMeta(n.Meta)
		out = append(out, Member{
			Name: n.Name, Region: meta.Region, Addr: n.Address(), State: stateName(n.State),
			Arch: meta.Arch, Engine: meta.Engine, Peer: meta.Peer, Public: meta.Public, Software: meta.Software,
		})
	}
	m.mu.Lock()
	for name, addr := range m.seen {
		if !live[name] {
			state := m.gone[name]
			if state == "" {
				state = "dead"
			}
			out = append(out, Member{Name: name, Addr: addr, State: state})
		}
	}
	m.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for i := range out {
		if out[i].State == "dead" || out[i].State == "left" {
			continue
		}
		wg.Add(1)
		go func(mb *Member) {
			defer wg.Done()
			st, err := m.statusOf(ctx, mb)
			if err != nil {
				mb.Error = err.Error()
				return
			}
			mb.Apps = m.compare(st)
		}(&out[i])
	}
	wg.Wait()
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func (m *Mesh) statusOf(ctx context.Context, mb *Member) (*PeerStatus, error) {
	if mb.Name == m.cfg.Name {
		return m.localStatus()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+mb.Peer+"/v1/status", nil)
	if err != nil {
		return nil, err
	}
	resp, err := m.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("peer answered %s", resp.Status)
	}
	var st PeerStatus
	return &st, json.NewDecoder(resp.Body).Decode(&st)
}

// compare marks which of a member's app states are the winners known here.
func (m *Mesh) compare(st *PeerStatus) []MemberApp {
	apps := []MemberApp{}
	has := map[string]bool{}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, s := range st.States {
		has[s.App] = true
		best := m.best[s.App]
		apps = append(apps, MemberApp{App: s.App, Version: s.Version, Removed: s.Removed, Gen: s.Stamp.Gen,
			InSync: best == nil || best.Stamp == s.Stamp})
	}
	for app, best := range m.best {
		if !has[app] && !best.Removed {
			apps = append(apps, MemberApp{App: app, InSync: false})
		}
	}
	sort.Slice(apps, func(i, j int) bool { return apps[i].App < apps[j].App })
	return apps
}
