
/*
 * hf-cache COMMAND [OPTIONS] [ARGS]: the command line.  Options may come
 * before or after the arguments; "--" ends them.  Each command accepts
 * the options that mean something to it and refuses the others, so that
 * a typo never goes unnoticed.
 */


#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "hf_cache.h"


enum {
    HFC_OPT_ENDPOINT = 256,
    HFC_OPT_TOKEN,
    HFC_OPT_REVISION,
    HFC_OPT_TYPE,
    HFC_OPT_INCLUDE,
    HFC_OPT_EXCLUDE,
    HFC_OPT_JOBS,
    HFC_OPT_METADATA,
    HFC_OPT_CACHE,
    HFC_OPT_LEVELS,
    HFC_OPT_DIST,
    HFC_OPT_OLDER_THAN,
    HFC_OPT_JSON,
    HFC_OPT_DRY_RUN,
    HFC_OPT_QUIET,
    HFC_OPT_HELP,
    HFC_OPT_VERSION
};


typedef struct {
    const char                 *name;
    int                       (*handler)(hfc_opts_t *o);
    unsigned                    options;     /* the HFC_OPT_* it takes */
    const char                 *usage;
} hfc_command_t;


/* a set of options: a bit for each HFC_OPT_* */

#define O(x)  (1u << ((x) - HFC_OPT_ENDPOINT))

static const hfc_command_t  hfc_commands[] = {

    { "warm", hfc_warm,
      O(HFC_OPT_ENDPOINT) | O(HFC_OPT_TOKEN)
      | O(HFC_OPT_REVISION) | O(HFC_OPT_TYPE)
      | O(HFC_OPT_INCLUDE) | O(HFC_OPT_EXCLUDE)
      | O(HFC_OPT_JOBS) | O(HFC_OPT_QUIET),
      "warm [--endpoint URL] [--token TOKEN] [--revision REV]\n"
      "          [--type model|dataset|space|kernel] [--include GLOB]...\n"
      "          [--exclude GLOB]... [--jobs N] [--quiet] REPO[@REV]..." },

    { "ls", hfc_ls,
      O(HFC_OPT_METADATA) | O(HFC_OPT_TYPE)
      | O(HFC_OPT_DIST) | O(HFC_OPT_JSON),
      "ls [--metadata DIR] [--type TYPE] [--dist NAME] [--json] "
      "[REPO[@REV]]" },

    { "du", hfc_du,
      O(HFC_OPT_METADATA) | O(HFC_OPT_TYPE)
      | O(HFC_OPT_DIST) | O(HFC_OPT_JSON),
      "du [--metadata DIR] [--type TYPE] [--dist NAME] [--json]" },

    { "show", hfc_show,
      O(HFC_OPT_METADATA) | O(HFC_OPT_TYPE)
      | O(HFC_OPT_DIST) | O(HFC_OPT_JSON),
      "show [--metadata DIR] [--type TYPE] [--dist NAME] [--json] "
      "REPO[@REV]" },

    { "purge", hfc_purge,
      O(HFC_OPT_METADATA) | O(HFC_OPT_CACHE)
      | O(HFC_OPT_LEVELS) | O(HFC_OPT_TYPE) | O(HFC_OPT_DIST)
      | O(HFC_OPT_OLDER_THAN) | O(HFC_OPT_DRY_RUN),
      "purge [--metadata DIR] [--cache DIR] [--levels L] [--type TYPE]\n"
      "          [--dist NAME] [--dry-run] REPO[@REV]...\n"
      "       hf-cache purge [...] --older-than DURATION" },

    { NULL, NULL, 0, NULL }
};


static const struct option  hfc_long_options[] = {
    { "endpoint",    required_argument, NULL, HFC_OPT_ENDPOINT },
    { "token",       required_argument, NULL, HFC_OPT_TOKEN },
    { "revision",    required_argument, NULL, HFC_OPT_REVISION },
    { "type",        required_argument, NULL, HFC_OPT_TYPE },
    { "include",     required_argument, NULL, HFC_OPT_INCLUDE },
    { "exclude",     required_argument, NULL, HFC_OPT_EXCLUDE },
    { "jobs",        required_argument, NULL, HFC_OPT_JOBS },
    { "metadata",    required_argument, NULL, HFC_OPT_METADATA },
    { "cache",       required_argument, NULL, HFC_OPT_CACHE },
    { "levels",      required_argument, NULL, HFC_OPT_LEVELS },
    { "dist",        required_argument, NULL, HFC_OPT_DIST },
    { "older-than",  required_argument, NULL, HFC_OPT_OLDER_THAN },
    { "json",        no_argument,       NULL, HFC_OPT_JSON },
    { "dry-run",     no_argument,       NULL, HFC_OPT_DRY_RUN },
    { "quiet",       no_argument,       NULL, HFC_OPT_QUIET },
    { "help",        no_argument,       NULL, HFC_OPT_HELP },
    { "version",     no_argument,       NULL, HFC_OPT_VERSION },
    { NULL, 0, NULL, 0 }
};


static void hfc_usage(FILE *f, const hfc_command_t *cmd);
static int hfc_parse(int argc, char **argv, const hfc_command_t *cmd,
    hfc_opts_t *o);
static const char *hfc_env(const char *name);


int
main(int argc, char **argv)
{
    int                    rc;
    hfc_opts_t             o;
    const hfc_command_t   *cmd;

    if (argc < 2) {
        hfc_usage(stderr, NULL);
        return HFC_USAGE;
    }

    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0
        || strcmp(argv[1], "help") == 0)
    {
        hfc_usage(stdout, NULL);
        return HFC_OK;
    }

    if (strcmp(argv[1], "--version") == 0) {
        printf("hf-cache %s (%s)\n", HFC_VERSION, curl_version());
        return HFC_OK;
    }

    for (cmd = hfc_commands; cmd->name; cmd++) {
        if (strcmp(cmd->name, argv[1]) == 0) {
            break;
        }
    }

    if (cmd->name == NULL) {
        hfc_error("unknown command \"%s\" (try \"hf-cache --help\")",
                  argv[1]);
        return HFC_USAGE;
    }

    memset(&o, 0, sizeof(hfc_opts_t));
    o.command = cmd->name;
    o.endpoint = hfc_env("HF_ENDPOINT");
    o.token = hfc_env("HF_TOKEN");
    o.metadata = hfc_env("HF_CACHE_METADATA");
    o.cache = hfc_env("HF_CACHE_DIR");
    o.levels = "1:2";
    o.jobs = HFC_DEFAULT_JOBS;

    if (o.endpoint == NULL) {
        o.endpoint = HFC_DEFAULT_ENDPOINT;
    }

    rc = hfc_parse(argc - 1, argv + 1, cmd, &o);
    if (rc != HFC_OK) {
        return rc == -1 ? HFC_OK : rc;
    }

    if (strcmp(cmd->name, "warm") != 0 && o.metadata == NULL) {
        hfc_error("%s: the metadata directory (hf_metadata) is needed: "
                  "--metadata DIR or HF_CACHE_METADATA", cmd->name);
        return HFC_USAGE;
    }

    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        hfc_error("curl_global_init() failed");
        return HFC_FAILED;
    }

    rc = cmd->handler(&o);

    curl_global_cleanup();

    return rc;
}


/* HFC_OK, -1 after --help, or an exit status */

static int
hfc_parse(int argc, char **argv, const hfc_command_t *cmd, hfc_opts_t *o)
{
    int          c, i;
    char        *end;
    const char  *name;

    opterr = 0;
    optind = 1;

    /* GNU getopt_long() permutes: options may follow the arguments */

    while ((c = getopt_long(argc, argv, ":hqj:", hfc_long_options, NULL))
           != -1)
    {
        if (c == 'h') {
            c = HFC_OPT_HELP;

        } else if (c == 'q') {
            c = HFC_OPT_QUIET;

        } else if (c == 'j') {
            c = HFC_OPT_JOBS;
        }

        if (c == '?' || c == ':') {
            if (optopt) {
                hfc_error("%s: -%c: %s", cmd->name, optopt,
                          c == ':' ? "needs a value" : "unknown option");

            } else {
                hfc_error("%s: %s: %s", cmd->name, argv[optind - 1],
                          c == ':' ? "needs a value" : "unknown option");
            }

            fprintf(stderr, "usage: hf-cache %s\n", cmd->usage);
            return HFC_USAGE;
        }

        if (c == HFC_OPT_HELP) {
            hfc_usage(stdout, cmd);
            return -1;
        }

        if (c == HFC_OPT_VERSION) {
            printf("hf-cache %s (%s)\n", HFC_VERSION, curl_version());
            return -1;
        }

        if (c < HFC_OPT_HELP && !(cmd->options & O(c))) {
            for (i = 0; hfc_long_options[i].name; i++) {
                if (hfc_long_options[i].val == c) {
                    break;
                }
            }

            name = hfc_long_options[i].name;
            hfc_error("%s: --%s does not apply to this command", cmd->name,
                      name);
            fprintf(stderr, "usage: hf-cache %s\n", cmd->usage);
            return HFC_USAGE;
        }

        switch (c) {

        case HFC_OPT_ENDPOINT:
            o->endpoint = optarg;
            break;

        case HFC_OPT_TOKEN:
            o->token = optarg;
            break;

        case HFC_OPT_REVISION:
            o->revision = optarg;
            break;

        case HFC_OPT_TYPE:
            o->type = hfc_kind_name(optarg);
            if (o->type == NULL) {
                hfc_error("--type \"%s\": expected model, dataset, space or "
                          "kernel", optarg);
                return HFC_USAGE;
            }
            break;

        case HFC_OPT_INCLUDE:
            o->include = hfc_realloc(o->include,
                                     (o->ninclude + 1) * sizeof(char *));
            o->include[o->ninclude++] = optarg;
            break;

        case HFC_OPT_EXCLUDE:
            o->exclude = hfc_realloc(o->exclude,
                                     (o->nexclude + 1) * sizeof(char *));
            o->exclude[o->nexclude++] = optarg;
            break;

        case HFC_OPT_JOBS:
            o->jobs = strtol(optarg, &end, 10);
            if (*end != '\0' || end == optarg || o->jobs < 1
                || o->jobs > HFC_MAX_JOBS)
            {
                hfc_error("--jobs \"%s\": expected 1 to %d", optarg,
                          HFC_MAX_JOBS);
                return HFC_USAGE;
            }
            break;

        case HFC_OPT_METADATA:
            o->metadata = optarg;
            break;

        case HFC_OPT_CACHE:
            o->cache = optarg;
            break;

        case HFC_OPT_LEVELS:
            o->levels = optarg;
            break;

        case HFC_OPT_DIST:
            o->dist = optarg;
            break;

        case HFC_OPT_OLDER_THAN:
            o->older_than = optarg;
            break;

        case HFC_OPT_JSON:
            o->json = 1;
            break;

        case HFC_OPT_DRY_RUN:
            o->dry_run = 1;
            break;

        case HFC_OPT_QUIET:
            o->quiet = 1;
            break;
        }
    }

    for ( /* void */ ; optind < argc; optind++) {
        o->args = hfc_realloc(o->args, (o->nargs + 1) * sizeof(char *));
        o->args[o->nargs++] = argv[optind];
    }

    for (i = 0; (size_t) i < o->nargs; i++) {
        if (o->args[i][0] == '\0') {
            hfc_error("%s: an empty argument", cmd->name);
            return HFC_USAGE;
        }
    }

    return HFC_OK;
}


static const char *
hfc_env(const char *name)
{
    const char  *v;

    v = getenv(name);

    return (v && v[0]) ? v : NULL;
}


static void
hfc_usage(FILE *f, const hfc_command_t *cmd)
{
    const hfc_command_t  *c;

    if (cmd) {
        fprintf(f, "usage: hf-cache %s\n", cmd->usage);

    } else {
        fprintf(f, "usage: hf-cache COMMAND [OPTIONS] [ARGS]\n\n");
        fprintf(f, "A pull-through cache of the Hugging Face Hub "
                   "(ngx_http_hf_module): warm it, see what it holds,\n"
                   "purge it.\n\ncommands:\n");

        for (c = hfc_commands; c->name; c++) {
            fprintf(f, "  hf-cache %s\n", c->usage);
        }
    }

    fprintf(f, "\n"
        "  --endpoint URL        the cache's distribution (HF_ENDPOINT, "
        "else " HFC_DEFAULT_ENDPOINT ")\n"
        "  --token TOKEN         sent as Authorization: Bearer (HF_TOKEN)\n"
        "  --revision REV        branch, tag or commit (main)\n"
        "  --type TYPE           model, dataset, space or kernel (model)\n"
        "  --include GLOB        only the files matching (repeatable)\n"
        "  --exclude GLOB        not the files matching (repeatable)\n"
        "  -j, --jobs N          parallel downloads (%d)\n"
        "  -q, --quiet           no progress, no per-file lines\n"
        "  --metadata DIR        hf_metadata's directory "
        "(HF_CACHE_METADATA)\n"
        "  --cache DIR           proxy_cache_path's directory "
        "(HF_CACHE_DIR)\n"
        "  --levels L            proxy_cache_path's levels (1:2)\n"
        "  --dist NAME           only this distribution (hf_distribution)\n"
        "  --older-than DURATION last served (else stored) before: "
        "30d, 12h, 90m, 45s\n"
        "  --dry-run             say what purge would remove, remove "
        "nothing\n"
        "  --json                JSON output\n"
        "  -h, --help, --version\n\n"
        "exit status: 0 done, 1 a file failed or nothing matched, "
        "2 usage, 3 endpoint,\nmetadata or cache directory unusable. "
        "See docs/hf-cache.md.\n", HFC_DEFAULT_JOBS);
}
