package pipeline

import (
	"context"

	"github.com/srbackup/srbackup/shared/job"
	"github.com/srbackup/srbackup/shared/jobstore"
	"github.com/srbackup/srbackup/shared/repository"
)

// This file is the one lookup of registered repositories: the backup
// steps, the restore steps and the API all find a repository by name here.
// notFound is the error a name that is not registered gets; nil means
// BACKUP's (job.ErrRepositoryNotFound): RESTORE answers with its own texts.

// registered returns the registry's record of the repository named name.
func (p *Pipeline) registered(ctx context.Context, name string, notFound error) (jobstore.Repository, error) {
	rec, ok, err := p.Store.GetRepository(ctx, name)
	if err != nil {
		return rec, transient("read repository registry", err)
	}
	if !ok {
		if notFound == nil {
			notFound = job.ErrRepositoryNotFound(name)
		}
		return rec, notFound
	}
	return rec, nil
}

// Repository opens the repository registered as name, and returns its
// record.
func (p *Pipeline) Repository(ctx context.Context, name string, notFound error) (*repository.Repo, jobstore.Repository, error) {
	rec, err := p.registered(ctx, name, notFound)
	if err != nil {
		return nil, rec, err
	}
	repo, err := p.Open(ctx, rec)
	return repo, rec, err
}

// JobRepository opens the repository of a job: the one it was locked with
// (CheckPinned), not another registered under its name since.
func (p *Pipeline) JobRepository(ctx context.Context, spec job.Spec, notFound error) (*repository.Repo, error) {
	rec, err := p.registered(ctx, spec.Repository, notFound)
	if err != nil {
		return nil, err
	}
	if err := CheckPinned(spec, rec); err != nil {
		return nil, err
	}
	return p.Open(ctx, rec)
}
