/*
 * hf-meta: prints what ngx_http_hf_module recorded in its LMDB store
 * (the directory of "hf_metadata"), one tab-separated line per record.
 *
 *     hf-meta DIR revisions   dist kind repo rev commit resolved
 *     hf-meta DIR files       dist kind repo commit path size etag lfs
 *                             type cache_key stored first_served
 *                             last_served hits
 *     hf-meta DIR blobs       cache_key size verified
 *
 * Times are Unix seconds (0: never).  It reads while nginx runs.
 */


#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../src/ngx_http_hf_records.h"


static void
print_key(MDB_val *k)
{
    fwrite(k->mv_data, 1, k->mv_size, stdout);
}


static int
print_record(const char *db, MDB_val *k, MDB_val *v)
{
    ngx_http_hf_file_rec_t      f;
    ngx_http_hf_blob_rec_t      b;
    ngx_http_hf_revision_rec_t  r;

    if (strcmp(db, "revisions") == 0 && v->mv_size == sizeof(r)) {
        memcpy(&r, v->mv_data, sizeof(r));
        print_key(k);
        printf("\t%.40s\t%lld\n", (char *) r.commit, (long long) r.resolved);
        return 0;
    }

    if (strcmp(db, "files") == 0 && v->mv_size == sizeof(f)) {
        memcpy(&f, v->mv_data, sizeof(f));
        f.etag[sizeof(f.etag) - 1] = '\0';
        f.content_type[sizeof(f.content_type) - 1] = '\0';
        f.cache_key[sizeof(f.cache_key) - 1] = '\0';
        print_key(k);
        printf("\t%llu\t%s\t%d\t%s\t%s\t%lld\t%lld\t%lld\t%llu\n",
               (unsigned long long) f.size,
               (f.flags & NGX_HTTP_HF_REC_MISSING) ? "missing"
                                                   : (char *) f.etag,
               (f.flags & NGX_HTTP_HF_REC_LFS) ? 1 : 0,
               (char *) f.content_type, (char *) f.cache_key,
               (long long) f.stored, (long long) f.first_served,
               (long long) f.last_served, (unsigned long long) f.hits);
        return 0;
    }

    if (strcmp(db, "blobs") == 0 && v->mv_size == sizeof(b)) {
        memcpy(&b, v->mv_data, sizeof(b));
        print_key(k);
        printf("\t%llu\t%lld\n", (unsigned long long) b.size,
               (long long) b.verified);
        return 0;
    }

    fprintf(stderr, "hf-meta: a %s record of %zu bytes: not of this "
            "version\n", db, v->mv_size);
    return 1;
}


int
main(int argc, char **argv)
{
    int          rc, bad;
    MDB_env     *env;
    MDB_txn     *txn;
    MDB_dbi      dbi;
    MDB_val      k, v;
    MDB_cursor  *cursor;

    if (argc != 3 || (strcmp(argv[2], "revisions") != 0
                      && strcmp(argv[2], "files") != 0
                      && strcmp(argv[2], "blobs") != 0))
    {
        fprintf(stderr, "usage: hf-meta DIR revisions|files|blobs\n");
        return 2;
    }

    rc = mdb_env_create(&env);

    if (rc == 0) {
        (void) mdb_env_set_maxdbs(env, 4);
        rc = mdb_env_open(env, argv[1], MDB_RDONLY, 0600);
    }

    if (rc == 0) {
        rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn);
    }

    if (rc == 0) {
        rc = mdb_dbi_open(txn, argv[2], 0, &dbi);
    }

    if (rc == 0) {
        rc = mdb_cursor_open(txn, dbi, &cursor);
    }

    if (rc != 0) {
        fprintf(stderr, "hf-meta: %s: %s\n", argv[1], mdb_strerror(rc));
        return 1;
    }

    bad = 0;

    while (mdb_cursor_get(cursor, &k, &v, MDB_NEXT) == 0) {
        bad |= print_record(argv[2], &k, &v);
    }

    mdb_cursor_close(cursor);
    mdb_txn_abort(txn);
    mdb_env_close(env);

    return bad;
}
