package migrate_test

import (
	"context"
	"sync"
	"testing"
	"testing/fstest"

	"evently.dev/libs/migrate"
	"evently.dev/libs/testkit"
)

func TestIntegrationConcurrentRunnersApplyEachMigrationOnce(t *testing.T) {
	t.Parallel()
	db := testkit.DB(t, "svc")
	src := fstest.MapFS{
		"20261125120000_init.up.sql":   {Data: []byte("CREATE TABLE things (id int PRIMARY KEY); INSERT INTO things VALUES (1);")},
		"20261125120000_init.down.sql": {Data: []byte("DROP TABLE things;")},
		"20261125130000_more.up.sql":   {Data: []byte("INSERT INTO things VALUES (2); SELECT pg_sleep(0.2);")},
	}
	ctx := context.Background()
	var wg sync.WaitGroup
	counts := make([]int, 4)
	errs := make([]error, 4)
	for i := range counts {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			counts[i], errs[i] = migrate.Up(ctx, db, "svc", src)
		}(i)
	}
	wg.Wait()
	total := 0
	for i := range counts {
		if errs[i] != nil {
			t.Fatalf("runner %d: %v", i, errs[i])
		}
		total += counts[i]
	}
	if total != 2 {
		t.Fatalf("applied %d migrations in all, want 2", total)
	}
	var rows int
	if err := db.NewRaw("SELECT count(*) FROM things").Scan(ctx, &rows); err != nil || rows != 2 {
		t.Fatalf("things rows = %d (%v), want 2: a migration ran twice or not at all", rows, err)
	}
}

func TestIntegrationFailedMigrationIsNotMarkedApplied(t *testing.T) {
	t.Parallel()
	db := testkit.DB(t, "svc")
	ctx := context.Background()
	bad := fstest.MapFS{
		"1_ok.up.sql":  {Data: []byte("CREATE TABLE a (id int);")},
		"2_bad.up.sql": {Data: []byte("CREATE TABLE b (id int); SELECT no_such_function();")},
	}
	if _, err := migrate.Up(ctx, db, "svc", bad); err == nil {
		t.Fatal("want error from the bad migration")
	}
	var versions []string
	if err := db.NewRaw("SELECT version FROM schema_migrations ORDER BY version").Scan(ctx, &versions); err != nil {
		t.Fatal(err)
	}
	if len(versions) != 1 || versions[0] != "1" {
		t.Fatalf("applied versions %v, want [1]", versions)
	}
	var exists bool
	if err := db.NewRaw("SELECT to_regclass('svc.b') IS NOT NULL").Scan(ctx, &exists); err != nil {
		t.Fatal(err)
	}
	if exists {
		t.Fatal("the failed migration's table survived: it was not transactional")
	}
	fixed := fstest.MapFS{
		"1_ok.up.sql":  bad["1_ok.up.sql"],
		"2_bad.up.sql": {Data: []byte("CREATE TABLE b (id int);")},
	}
	n, err := migrate.Up(ctx, db, "svc", fixed)
	if err != nil || n != 1 {
		t.Fatalf("rerun applied %d (%v), want 1", n, err)
	}
	n, err = migrate.Down(ctx, db, "svc", 1, fstest.MapFS{
		"1_ok.up.sql":    fixed["1_ok.up.sql"],
		"2_bad.up.sql":   fixed["2_bad.up.sql"],
		"2_bad.down.sql": {Data: []byte("DROP TABLE b;")},
	})
	if err != nil || n != 1 {
		t.Fatalf("down reverted %d (%v), want 1", n, err)
	}
}

func TestLoadRejectsDuplicateVersions(t *testing.T) {
	_, err := migrate.Load(fstest.MapFS{"1_a.up.sql": {Data: []byte("")}}, fstest.MapFS{"1_b.up.sql": {Data: []byte("")}})
	if err == nil {
		t.Fatal("want an error for a version used twice")
	}
}
