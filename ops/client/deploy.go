package client

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/edgecdn/edge/gossip/trust"
	"github.com/edgecdn/edge/ops/api"
)

// Progress is told what a deploy uploads; nil reports nothing.
type Progress interface {
	Start(files int, bytes int64)
	Add(bytes int)
	FileDone()
	Done()
}

// Uploaded counts what a deploy sent.
type Uploaded struct {
	Files int   `json:"files"`
	Bytes int64 `json:"bytes"`
}

// maxResubmits bounds the uploads after a 409: a node pruning blobs as
// fast as they arrive is not waited for forever.
const maxResubmits = 3

// Deploy uploads the blobs the node lacks, then submits the manifest signed
// with key, with a statement signed at the app's next sequence. A node
// that lost a blob in between (a concurrent prune) answers 409 with what
// is missing: those are uploaded and the manifest submitted again; one
// where another change landed first answers 409 ErrStaleSeq: the
// statement is signed again at the new sequence. The token is checked
// before anything is sent.
func (c *Client) Deploy(ctx context.Context, b *Bundle, key ed25519.PrivateKey, prog Progress) (*api.DeployResult, Uploaded, error) {
	if prog == nil {
		prog = noProgress{}
	}
	var up Uploaded
	if err := c.CheckToken(ctx); err != nil {
		return nil, up, err
	}
	var miss api.MissingResponse
	if err := c.call(ctx, http.MethodPost, api.PathBlobsMissing, api.MissingRequest{Digests: b.digests()}, &miss); err != nil {
		return nil, up, err
	}
	trust.Sign(b.Manifest, key)
	missing := miss.Missing
	for attempt := 0; ; attempt++ {
		if err := c.uploadAll(ctx, b, missing, prog, &up); err != nil {
			return nil, up, err
		}
		st, err := c.statement(ctx, b.Manifest.App, trust.ActDeploy, b.Manifest, key)
		if err != nil {
			return nil, up, err
		}
		var res api.DeployResult
		err = c.call(ctx, http.MethodPost, appPath(b.Manifest.App, "/versions"), api.VersionRequest{Manifest: *b.Manifest, Statement: st}, &res)
		var ae *Error
		if errors.As(err, &ae) && len(ae.Missing) > 0 && attempt < maxResubmits {
			missing = ae.Missing
			continue
		}
		if errors.Is(err, ErrStaleSeq) && attempt < maxResubmits {
			missing = nil
			continue
		}
		if err != nil {
			return nil, up, err
		}
		return &res, up, nil
	}
}

func (c *Client) uploadAll(ctx context.Context, b *Bundle, digests []string, prog Progress, up *Uploaded) error {
	var total int64
	for _, d := range digests {
		total += b.size(d)
	}
	prog.Start(len(digests), total)
	defer prog.Done()
	for _, d := range digests {
		if err := c.upload(ctx, b, d, prog); err != nil {
			return err
		}
		up.Files++
		up.Bytes += b.size(d)
		prog.FileDone()
	}
	return nil
}

func (c *Client) upload(ctx context.Context, b *Bundle, digest string, prog Progress) error {
	rel, ok := b.source[digest]
	if !ok {
		return fmt.Errorf("the node asked for blob %s, which this app does not have", digest)
	}
	f, err := b.fsys.Open(rel)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := c.call(ctx, http.MethodPut, api.PathBlobs+digest, io.Reader(&countingReader{r: f, prog: prog}), nil); err != nil {
		return fmt.Errorf("upload %s: %w", rel, err)
	}
	return nil
}

// countingReader reports upload progress as the body is read.
type countingReader struct {
	r    io.Reader
	prog Progress
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.prog.Add(n)
	return n, err
}

type noProgress struct{}

func (noProgress) Start(int, int64) {}
func (noProgress) Add(int)          {}
func (noProgress) FileDone()        {}
func (noProgress) Done()            {}
