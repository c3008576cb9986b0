/* rebind: points a program's (or DLL's) imports of ws2_32.dll at another name of the same
 * length, ws2_3x.dll by default, so that our ws2_32.dll copied beside it under that name
 * serves them.  On Windows WS2_32 is a KnownDLL: an import of ws2_32.dll always binds to the
 * system's copy, whatever lies in the program's folder, so the import itself has to change.
 *
 *   rebind [--name NEW] [--from OLD] [-o OUT] [--check] [--force] FILE
 *
 * Only the name strings change, and the header checksum when the file has one.  The result
 * is written to a temporary file beside the target, read back and checked, and only then
 * renamed into place.  Standard C file I/O only: this one file builds the Linux tool and
 * rebind.exe for Windows. */

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#ifndef _WIN32
#include <sys/stat.h>
#endif

#define EXIT_DONE     0   /* rewritten (or, with --check, would be) */
#define EXIT_REFUSED  1   /* not a PE, truncated, nothing to rebind, bound, signed, I/O error */
#define EXIT_USAGE    2   /* bad arguments: a name of the wrong length, a path, ... */
#define EXIT_ALREADY  3   /* the file imports the new name already: nothing to do */

#define DEFAULT_FROM  "ws2_32.dll"
#define DEFAULT_NAME  "ws2_3x.dll"

#define DIR_IMPORT    1
#define DIR_SECURITY  4
#define DIR_BOUND     11
#define DIR_DELAY     13
#define DIR_CLR       14

/* Far more than any real image has; a bound on the work hostile tables can cause. */
#define MAX_NAMES     65536
#define MAX_FILE_SIZE 0x7fffffffUL

struct options
{
    const char *from;      /* the import to rename */
    const char *name;      /* its new name */
    const char *input;
    const char *output;    /* the input itself when no -o */
    int check;
    int force;
};

struct image
{
    const unsigned char *data;
    size_t size;
    int pe32plus;
    unsigned machine;
    unsigned characteristics;  /* 0x2000: a DLL */
    uint64_t image_base;
    size_t checksum_off;   /* file offset of the optional header's CheckSum */
    size_t headers_size;
    size_t dirs_off;
    unsigned dir_count;
    size_t sections_off;
    unsigned section_count;
};

/* One DLL name that a directory of the image refers to. */
struct dll_name
{
    const char *kind;      /* "import", "delay import", "bound import" */
    size_t desc_off;       /* file offset of its descriptor */
    size_t name_off;       /* file offset of the name string */
    size_t name_len;
    uint32_t timestamp;    /* non-zero: pre-resolved (bound) */
};

struct names
{
    struct dll_name *items;
    size_t count;
    size_t max;
};

static char message[512];

/* Records why something is refused; callers print it after the file's name. */
static int failf(const char *fmt, ...)
{
    va_list args;

    va_start(args, fmt);
    vsnprintf(message, sizeof(message), fmt, args);
    va_end(args);
    return -1;
}

static unsigned get16(const unsigned char *p)
{
    return p[0] | (unsigned)p[1] << 8;
}

static uint32_t get32(const unsigned char *p)
{
    return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const unsigned char *p)
{
    return get32(p) | (uint64_t)get32(p + 4) << 32;
}

static void put32(unsigned char *p, uint32_t v)
{
    p[0] = v & 0xff;
    p[1] = (v >> 8) & 0xff;
    p[2] = (v >> 16) & 0xff;
    p[3] = v >> 24;
}

static int lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

static int is_letter(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* DLL names compare as Windows compares them: ASCII letters without regard to case. */
static int same_name(const unsigned char *s, size_t len, const char *name)
{
    size_t i;

    if (len != strlen(name)) return 0;
    for (i = 0; i < len; i++)
        if (lower(s[i]) != lower((unsigned char)name[i])) return 0;
    return 1;
}

/* --- reading the headers ------------------------------------------------------------------- */

static void section_name(const struct image *img, unsigned i, char out[9])
{
    const unsigned char *s = img->data + img->sections_off + i * 40;
    unsigned j;

    for (j = 0; j < 8 && s[j]; j++) out[j] = s[j] > 0x20 && s[j] < 0x7f ? s[j] : '?';
    out[j] = 0;
}

static int parse_headers(struct image *img)
{
    const unsigned char *d = img->data;
    size_t size = img->size, pe, opt, opt_size, fixed;
    uint32_t file_align;
    unsigned i, count;

    if (size < 2 || d[0] != 'M' || d[1] != 'Z') return failf("not a PE file (no MZ header)");
    if (size < 0x40) return failf("truncated: %lu bytes, less than a DOS header", (unsigned long)size);
    pe = get32(d + 0x3c);
    if (pe > size || size - pe < 4)
        return failf("truncated, or a DOS program: the PE header offset 0x%lx lies past the end "
                     "(%lu bytes)", (unsigned long)pe, (unsigned long)size);
    if (memcmp(d + pe, "PE\0\0", 4)) return failf("not a PE file (an MZ program without a PE header)");
    if (size - pe < 24) return failf("truncated in the PE file header");
    img->machine = get16(d + pe + 4);
    img->section_count = get16(d + pe + 6);
    img->characteristics = get16(d + pe + 22);
    opt_size = get16(d + pe + 20);
    opt = pe + 24;
    if (size - opt < opt_size) return failf("truncated in the optional header");
    if (opt_size < 2) return failf("not an image: no optional header (an object file?)");

    switch (get16(d + opt))
    {
    case 0x10b: img->pe32plus = 0; fixed = 96; break;
    case 0x20b: img->pe32plus = 1; fixed = 112; break;
    default: return failf("not a PE32 or PE32+ image (optional header magic 0x%x)", get16(d + opt));
    }
    if (opt_size < fixed)
        return failf("headers not sane: an optional header of %lu bytes", (unsigned long)opt_size);
    img->image_base = img->pe32plus ? get64(d + opt + 24) : get32(d + opt + 28);
    file_align = get32(d + opt + 36);
    img->headers_size = get32(d + opt + 60);
    img->checksum_off = opt + 64;
    img->dirs_off = opt + fixed;
    count = get32(d + opt + fixed - 4);
    if (count > (opt_size - fixed) / 8) count = (opt_size - fixed) / 8;
    img->dir_count = count > 16 ? 16 : count;
    img->sections_off = opt + opt_size;

    if (!img->section_count) return failf("headers not sane: no sections");
    if ((size - img->sections_off) / 40 < img->section_count) return failf("truncated in the section table");
    if (!file_align || (file_align & (file_align - 1)))
        return failf("headers not sane: FileAlignment 0x%lx is not a power of two", (unsigned long)file_align);
    if (img->headers_size > size)
        return failf("truncated: the headers are 0x%lx bytes, the file %lu",
                     (unsigned long)img->headers_size, (unsigned long)size);

    for (i = 0; i < img->section_count; i++)
    {
        const unsigned char *s = d + img->sections_off + i * 40;
        uint64_t raw = get32(s + 16), ptr = get32(s + 20);
        char name[9];

        if (!raw) continue;
        section_name(img, i, name);
        /* The loader reads a section from PointerToRawData rounded down to the file alignment:
         * an unaligned one would have us patch bytes other than those it maps. */
        if (ptr % file_align)
            return failf("headers not sane: section %s starts at 0x%lx, not a multiple of "
                         "FileAlignment 0x%lx", name, (unsigned long)ptr, (unsigned long)file_align);
        if (ptr + raw > size)
            return failf("truncated: section %s ends at 0x%llx, the file at 0x%lx", name,
                         (unsigned long long)(ptr + raw), (unsigned long)size);
    }
    return 0;
}

static void directory(const struct image *img, unsigned index, uint32_t *rva, uint32_t *size)
{
    const unsigned char *p = img->data + img->dirs_off + index * 8;

    *rva = *size = 0;
    if (index >= img->dir_count) return;
    *rva = get32(p);
    *size = get32(p + 4);
}

/* The file offset of LEN bytes at RVA, and the end of the section (or headers) holding them.
 * Returns 0 unless all of them are in the file's data: a section's bytes beyond its raw size
 * are zeros made by the loader, not bytes of the file. */
static int map_rva(const struct image *img, uint64_t rva, uint64_t len, size_t *off, size_t *end)
{
    unsigned i;

    for (i = 0; i < img->section_count; i++)
    {
        const unsigned char *s = img->data + img->sections_off + i * 40;
        uint64_t vsize = get32(s + 8), va = get32(s + 12), raw = get32(s + 16), ptr = get32(s + 20);
        uint64_t span = vsize ? vsize : raw;

        if (rva < va || rva - va >= span) continue;
        if (raw < span) span = raw;
        if (rva - va >= span || len > span - (rva - va)) return 0;
        *off = ptr + (rva - va);
        *end = ptr + span;
        return 1;
    }
    if (rva < img->headers_size && len <= img->headers_size - rva)
    {
        *off = rva;
        *end = img->headers_size;
        return 1;
    }
    return 0;
}

/* A name string at RVA: it must end with a NUL inside the section that holds it. */
static int map_name(const struct image *img, const char *kind, uint64_t rva, size_t *off, size_t *len)
{
    const unsigned char *nul;
    size_t end;

    *len = 0;
    if (!map_rva(img, rva, 1, off, &end))
        return failf("the %s name at RVA 0x%llx lies outside the file's data", kind, (unsigned long long)rva);
    nul = memchr(img->data + *off, 0, end - *off);
    if (!nul)
        return failf("the %s name at RVA 0x%llx does not end inside its section", kind, (unsigned long long)rva);
    *len = nul - (img->data + *off);
    return 0;
}

static int add_name(struct names *names, const char *kind, size_t desc_off, size_t name_off,
                    size_t name_len, uint32_t timestamp)
{
    struct dll_name *n;

    if (names->count == MAX_NAMES) return failf("headers not sane: more than %d DLL names", MAX_NAMES);
    if (names->count == names->max)
    {
        size_t max = names->max ? names->max * 2 : 32;
        struct dll_name *items = realloc(names->items, max * sizeof(*items));

        if (!items) return failf("out of memory");
        names->items = items;
        names->max = max;
    }
    n = &names->items[names->count++];
    n->kind = kind;
    n->desc_off = desc_off;
    n->name_off = name_off;
    n->name_len = name_len;
    n->timestamp = timestamp;
    return 0;
}

/* --- the three directories that name DLLs ---------------------------------------------------- */

/* Descriptors end at the first without a name or an address table, as the loader stops. */
static int walk_imports(const struct image *img, struct names *names)
{
    uint32_t rva, size;
    uint64_t at;

    directory(img, DIR_IMPORT, &rva, &size);
    if (!rva) return 0;
    for (at = rva;; at += 20)
    {
        const unsigned char *p;
        size_t off, end, name_off, name_len;

        if (!map_rva(img, at, 20, &off, &end))
            return failf("the import descriptor at RVA 0x%llx lies outside the file's data",
                         (unsigned long long)at);
        p = img->data + off;
        if (!get32(p + 12) || !get32(p + 16)) return 0;
        if (map_name(img, "import", get32(p + 12), &name_off, &name_len) ||
            add_name(names, "import", off, name_off, name_len, get32(p + 4)))
            return -1;
    }
}

static int walk_delay_imports(const struct image *img, struct names *names)
{
    uint32_t rva, size;
    uint64_t at;

    directory(img, DIR_DELAY, &rva, &size);
    if (!rva) return 0;
    for (at = rva;; at += 32)
    {
        const unsigned char *p;
        size_t off, end, name_off, name_len;
        uint64_t name;

        if (!map_rva(img, at, 32, &off, &end))
            return failf("the delay-import descriptor at RVA 0x%llx lies outside the file's data",
                         (unsigned long long)at);
        p = img->data + off;
        if (!(name = get32(p + 4))) return 0;
        /* Attribute bit 0 clear: an old table that holds addresses instead of RVAs. */
        if (!(get32(p) & 1))
        {
            if (name < img->image_base)
                return failf("the delay-import name at address 0x%llx lies below the image",
                             (unsigned long long)name);
            name -= img->image_base;
        }
        if (map_name(img, "delay import", name, &name_off, &name_len) ||
            add_name(names, "delay import", off, name_off, name_len, get32(p + 28)))
            return -1;
    }
}

/* Each entry is followed by its forwarder references; names are offsets from the table. */
static int walk_bound_imports(const struct image *img, struct names *names)
{
    uint32_t rva, size;
    uint64_t at;

    directory(img, DIR_BOUND, &rva, &size);
    if (!rva) return 0;
    for (at = rva;;)
    {
        const unsigned char *p;
        size_t off, end, name_off, name_len;
        unsigned refs, i;

        if (!map_rva(img, at, 8, &off, &end))
            return failf("the bound-import directory at RVA 0x%lx runs outside the file's data",
                         (unsigned long)rva);
        p = img->data + off;
        if (!get32(p) && !get16(p + 4)) return 0;
        refs = get16(p + 6);
        for (i = 0; i <= refs; i++, at += 8)
        {
            if (!map_rva(img, at, 8, &off, &end))
                return failf("the bound-import directory at RVA 0x%lx runs outside the file's data",
                             (unsigned long)rva);
            p = img->data + off;
            if (map_name(img, "bound import", (uint64_t)rva + get16(p + 4), &name_off, &name_len) ||
                add_name(names, "bound import", off, name_off, name_len, get32(p)))
                return -1;
        }
    }
}

static int walk_names(const struct image *img, struct names *names)
{
    names->count = 0;
    if (walk_imports(img, names) || walk_delay_imports(img, names) || walk_bound_imports(img, names))
        return -1;
    return 0;
}

static int is_bound_kind(const struct dll_name *n)
{
    return !strcmp(n->kind, "bound import");
}

/* --- checksum, the new name, and checking a result ------------------------------------------- */

/* The image checksum: the file summed as 16-bit little-endian words with the carries folded
 * back in, the CheckSum field counted as zero, plus the file's length. */
static uint32_t pe_checksum(const unsigned char *d, size_t size, size_t checksum_off)
{
    uint32_t sum = 0;
    size_t i;

    for (i = 0; i < size; i += 2)
    {
        unsigned lo = i - checksum_off < 4 ? 0 : d[i];
        unsigned hi = i + 1 >= size || i + 1 - checksum_off < 4 ? 0 : d[i + 1];

        sum += lo | hi << 8;
        sum = (sum & 0xffff) + (sum >> 16);
    }
    return sum + (uint32_t)size;
}

/* The new name takes the letter case of the one it replaces where both have a letter
 * (WS2_32.dll becomes WS2_3x.dll), so rebinding back gives the original bytes again. */
static void write_name(unsigned char *dst, const char *name)
{
    size_t i, len = strlen(name);

    for (i = 0; i < len; i++)
    {
        int c = (unsigned char)name[i];

        if (is_letter(c) && is_letter(dst[i]))
            c = dst[i] >= 'a' ? lower(c) : lower(c) - ('a' - 'A');
        dst[i] = c;
    }
}

/* Where NAME ends a string in the file, in ASCII or UTF-16 (a LoadLibrary argument, say, or
 * a delay import that no directory points at): 0 when nowhere. */
static size_t find_string(const struct image *img, const char *name)
{
    const unsigned char *d = img->data;
    size_t len = strlen(name), i, j;

    for (i = 0; i < img->size; i++)
    {
        for (j = 0; j < len && i + j < img->size; j++)
            if (lower(d[i + j]) != lower((unsigned char)name[j])) break;
        if (j == len && i + j < img->size && !d[i + j]) return i;
        for (j = 0; j < len && i + 2 * j + 1 < img->size; j++)
            if (lower(d[i + 2 * j]) != lower((unsigned char)name[j]) || d[i + 2 * j + 1]) break;
        if (j == len && i + 2 * j + 1 < img->size && !d[i + 2 * j] && !d[i + 2 * j + 1]) return i;
    }
    return 0;
}

static int is_target(const struct dll_name *n, const unsigned char *data, const char *name)
{
    return !is_bound_kind(n) && same_name(data + n->name_off, n->name_len, name);
}

/* The rewritten bytes NEW against the original: the same headers and tables, every name the
 * same as before except those renamed, the checksum right, and no other byte changed. */
static int check_result(const struct options *o, const struct image *orig, const struct names *before,
                        const unsigned char *data, size_t size)
{
    struct image img = *orig;
    struct names after = {0};
    uint32_t sum;
    size_t i, j;
    int ret = -1;

    if (size != orig->size)
        return failf("check of the result: %lu bytes, not %lu", (unsigned long)size, (unsigned long)orig->size);
    img.data = data;
    if (parse_headers(&img) || walk_names(&img, &after))
    {
        char why[sizeof(message)];

        memcpy(why, message, sizeof(why));
        failf("check of the result: it does not parse: %s", why);
        goto done;
    }
    if (after.count != before->count)
    {
        failf("check of the result: %lu DLL names, not %lu", (unsigned long)after.count,
              (unsigned long)before->count);
        goto done;
    }
    for (i = 0; i < after.count; i++)
    {
        const struct dll_name *a = &after.items[i], *b = &before->items[i];
        const char *want = is_target(b, orig->data, o->from) ? o->name : NULL;

        if (a->name_off != b->name_off || a->name_len != b->name_len ||
            (want && !same_name(data + a->name_off, a->name_len, want)) ||
            (!want && memcmp(data + a->name_off, orig->data + b->name_off, b->name_len)))
        {
            failf("check of the result: the %s name at 0x%lx is not what it should be", a->kind,
                  (unsigned long)a->name_off);
            goto done;
        }
    }
    for (i = 0; i < size; i++)
    {
        int allowed = i - orig->checksum_off < 4;

        if (data[i] == orig->data[i]) continue;
        for (j = 0; j < before->count && !allowed; j++)
            allowed = is_target(&before->items[j], orig->data, o->from) &&
                      i - before->items[j].name_off < before->items[j].name_len;
        if (!allowed)
        {
            failf("check of the result: byte 0x%lx changed, outside the names and the checksum",
                  (unsigned long)i);
            goto done;
        }
    }
    sum = get32(data + orig->checksum_off);
    if (get32(orig->data + orig->checksum_off) ? sum != pe_checksum(data, size, orig->checksum_off) : sum != 0)
    {
        failf("check of the result: checksum 0x%08lx is wrong", (unsigned long)sum);
        goto done;
    }
    ret = 0;
done:
    free(after.items);
    return ret;
}

/* --- files ----------------------------------------------------------------------------------- */

static int read_file(const char *path, unsigned char **data, size_t *size)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf = NULL;
    size_t len = 0, max = 0, got;

    if (!f) return failf("cannot open: %s", strerror(errno));
    for (;;)
    {
        if (len == max)
        {
            unsigned char *bigger;

            if (max >= MAX_FILE_SIZE)
            {
                fclose(f);
                free(buf);
                return failf("larger than %lu bytes: not an image this tool handles", MAX_FILE_SIZE);
            }
            max = max ? max * 2 : 1 << 20;
            if (!(bigger = realloc(buf, max)))
            {
                fclose(f);
                free(buf);
                return failf("out of memory");
            }
            buf = bigger;
        }
        got = fread(buf + len, 1, max - len, f);
        len += got;
        if (got) continue;
        if (ferror(f))
        {
            fclose(f);
            free(buf);
            return failf("cannot read: %s", strerror(errno));
        }
        break;
    }
    fclose(f);
    *data = buf;
    *size = len;
    return 0;
}

static int write_file(const char *path, const unsigned char *data, size_t size)
{
    FILE *f = fopen(path, "wb");

    if (!f) return failf("cannot create %s: %s", path, strerror(errno));
    if (fwrite(data, 1, size, f) != size || fflush(f))
    {
        failf("cannot write %s: %s", path, strerror(errno));
        fclose(f);
        remove(path);
        return -1;
    }
    if (fclose(f))
    {
        failf("cannot write %s: %s", path, strerror(errno));
        remove(path);
        return -1;
    }
    return 0;
}

static int exists(const char *path)
{
    FILE *f = fopen(path, "rb");

    if (!f) return 0;
    fclose(f);
    return 1;
}

/* PATH with SUFFIX and, if that is taken, a digit: a name beside it that nobody uses. */
static char *free_name(const char *path, const char *suffix)
{
    size_t len = strlen(path) + strlen(suffix) + 2;
    char *name = malloc(len);
    int i;

    if (!name) return NULL;
    for (i = 0; i < 10; i++)
    {
        snprintf(name, len, i ? "%s%s%d" : "%s%s", path, suffix, i);
        if (!exists(name)) return name;
    }
    free(name);
    return NULL;
}

/* Windows' rename does not replace an existing file: move the old one aside first, and back
 * if the new one cannot take its place. */
static int replace_file(const char *tmp, const char *path)
{
    char *old;

    if (!rename(tmp, path)) return 0;
    if (!exists(path) || !(old = free_name(path, ".rebind-old")))
        return failf("cannot rename %s to %s: %s", tmp, path, strerror(errno));
    if (rename(path, old))
    {
        failf("cannot move %s aside: %s", path, strerror(errno));
        free(old);
        return -1;
    }
    if (rename(tmp, path))
    {
        failf("cannot rename %s to %s: %s", tmp, path, strerror(errno));
        rename(old, path);
        free(old);
        return -1;
    }
    remove(old);
    free(old);
    return 0;
}

/* Writes beside the target, reads it back and checks it, then renames it into place. */
static int write_checked(const struct options *o, const struct image *orig, const struct names *names,
                         const unsigned char *data)
{
    char *tmp = free_name(o->output, ".rebind-tmp");
    unsigned char *back = NULL;
    size_t back_size;
    int ret = -1;

    if (!tmp) return failf("no free temporary name beside %s", o->output);
    if (write_file(tmp, data, orig->size)) goto done;
#ifndef _WIN32
    {
        struct stat st;

        /* Keep the mode (an executable bit, say) of the file being replaced. */
        if (!stat(exists(o->output) ? o->output : o->input, &st)) chmod(tmp, st.st_mode & 07777);
    }
#endif
    if (read_file(tmp, &back, &back_size)) goto fail;
    if (back_size != orig->size || memcmp(back, data, back_size))
    {
        failf("%s does not read back as written", tmp);
        goto fail;
    }
    if (check_result(o, orig, names, back, back_size) || replace_file(tmp, o->output)) goto fail;
    ret = 0;
    goto done;
fail:
    remove(tmp);
done:
    free(back);
    free(tmp);
    return ret;
}

/* --- the tool -------------------------------------------------------------------------------- */

static const char *machine_name(unsigned machine)
{
    static char other[32];

    switch (machine)
    {
    case 0x14c: return "x86";
    case 0x8664: return "x64";
    case 0xaa64: return "arm64";
    case 0x1c4: return "arm";
    }
    snprintf(other, sizeof(other), "machine 0x%x", machine);
    return other;
}

static int refuse(const struct options *o, int code)
{
    fflush(stdout);
    fprintf(stderr, "rebind: %s: %s\n", o->input, message);
    return code;
}

static int rebind(const struct options *o)
{
    struct image img = {0};
    struct names names = {0};
    unsigned char *data = NULL, *out = NULL;
    size_t i, targets = 0, already = 0;
    uint32_t rva, size, sig_rva, sig_size, old_sum, new_sum;
    int wsock32 = 0, ret = EXIT_REFUSED;
    size_t elsewhere;
    const char *arch;

    if (read_file(o->input, &data, &img.size)) return refuse(o, EXIT_REFUSED);
    img.data = data;
    if (parse_headers(&img) || walk_names(&img, &names)) goto refused;
    arch = machine_name(img.machine);

    for (i = 0; i < names.count; i++)
    {
        const struct dll_name *n = &names.items[i];
        const unsigned char *s = data + n->name_off;

        if (same_name(s, n->name_len, o->from) && is_bound_kind(n))
        {
            failf("its bound-import directory names %s: the addresses bound for the system's "
                  "copy could be used with ours; refusing", o->from);
            goto refused;
        }
        if (is_target(n, data, o->from))
        {
            if (n->timestamp)
            {
                failf("its %s of %s is bound (pre-resolved for the system's copy, stamp 0x%lx); "
                      "refusing", n->kind, o->from, (unsigned long)n->timestamp);
                goto refused;
            }
            targets++;
        }
        else if (is_target(n, data, o->name)) already++;
        else if (same_name(s, n->name_len, "wsock32.dll")) wsock32 = 1;
    }

    if (!targets)
    {
        directory(&img, DIR_CLR, &rva, &size);
        if (already)
        {
            failf("already imports %s and not %s: nothing to do", o->name, o->from);
            ret = EXIT_ALREADY;
        }
        else if (rva && size)
            failf("a .NET assembly without an import of %s: its sockets come from the .NET "
                  "runtime, not from imports this tool can change", o->from);
        else if (wsock32)
            failf("no import of %s (it imports wsock32.dll, whose own import of ws2_32.dll is "
                  "the system's to make)", o->from);
        else if ((elsewhere = find_string(&img, o->from)))
            failf("no import of %s (the name is at 0x%lx: loaded by name at run time, or a delay "
                  "import that no directory lists; neither can be rebound)", o->from,
                  (unsigned long)elsewhere);
        else
            failf("no import of %s", o->from);
        goto refused;
    }

    directory(&img, DIR_SECURITY, &sig_rva, &sig_size);
    if (sig_size && !o->force)
    {
        failf("signed (Authenticode): rewriting it makes the signature invalid; add --force to "
              "rewrite it anyway");
        goto refused;
    }

    if (!(out = malloc(img.size)))
    {
        failf("out of memory");
        goto refused;
    }
    memcpy(out, data, img.size);
    for (i = 0; i < names.count; i++)
    {
        const struct dll_name *n = &names.items[i];

        if (!is_target(n, data, o->from)) continue;
        write_name(out + n->name_off, o->name);
        printf("rebind: %s: PE32%s %s, %s of %.*s (descriptor at 0x%lx, name at 0x%lx) -> %.*s\n",
               o->input, img.pe32plus ? "+" : "", arch, n->kind, (int)n->name_len, data + n->name_off,
               (unsigned long)n->desc_off, (unsigned long)n->name_off, (int)n->name_len, out + n->name_off);
    }
    /* A zero checksum means "none" (Windows checks it only for drivers and boot DLLs); it stays
     * zero, so that only the names change and rebinding back restores the original file. */
    old_sum = get32(data + img.checksum_off);
    if (old_sum)
    {
        new_sum = pe_checksum(out, img.size, img.checksum_off);
        put32(out + img.checksum_off, new_sum);
        printf("rebind: %s: checksum 0x%08lx -> 0x%08lx%s\n", o->input, (unsigned long)old_sum,
               (unsigned long)new_sum,
               old_sum == pe_checksum(data, img.size, img.checksum_off) ? "" : " (it was wrong before)");
    }
    else
        printf("rebind: %s: checksum 0 (none) left as it is\n", o->input);

    if (o->check)
    {
        if (check_result(o, &img, &names, out, img.size)) goto refused;
        printf("rebind: %s: checked, not written (--check)\n", o->input);
    }
    else
    {
        if (write_checked(o, &img, &names, out)) goto refused;
        if (same_name((const unsigned char *)o->name, strlen(o->name), DEFAULT_FROM))
            printf("rebind: %s: written to %s; it imports the system's ws2_32.dll again\n",
                   o->input, o->output);
        else if ((img.machine == 0x8664 || img.machine == 0x14c) && (img.characteristics & 0x2000))
            printf("rebind: %s: written to %s; put our %s/ws2_32.dll as %s in the folder of the "
                   "program that loads it\n", o->input, o->output, arch, o->name);
        else if (img.machine == 0x8664 || img.machine == 0x14c)
            printf("rebind: %s: written to %s; put our %s/ws2_32.dll beside it as %s\n",
                   o->input, o->output, arch, o->name);
        else
            printf("rebind: %s: written to %s; note: our DLL is built for x86 and x64, this is %s\n",
                   o->input, o->output, arch);
    }
    if (sig_size)
    {
        fflush(stdout);
        fprintf(stderr, "rebind: %s: warning: the Authenticode signature is %s invalid "
                "(--force); rebinding back makes it valid again\n",
                o->input, o->check ? "would be" : "now");
    }
    ret = EXIT_DONE;
    goto done;
refused:
    ret = refuse(o, ret);
done:
    free(out);
    free(names.items);
    free(data);
    return ret;
}

static int bad_usage(void)
{
    fprintf(stderr, "rebind: %s (rebind --help for usage)\n", message);
    return EXIT_USAGE;
}

static void usage(void)
{
    printf("usage: rebind [--name NEW] [--from OLD] [-o OUT] [--check] [--force] FILE\n"
           "  Renames FILE's imports of OLD (default " DEFAULT_FROM ") to NEW (default "
           DEFAULT_NAME "),\n"
           "  a name of the same length; our ws2_32.dll then goes beside FILE as NEW.\n"
           "  --name ws2_32.dll undoes it (OLD defaults to " DEFAULT_NAME " then).\n"
           "  -o OUT     write OUT instead of rewriting FILE\n"
           "  --check    say what would change, write nothing\n"
           "  --force    rewrite a signed file (its signature becomes invalid)\n"
           "exit: 0 done, 1 refused, 2 bad arguments, 3 already rebound\n");
}

/* A name the loader takes as a bare file name: printable ASCII, no path, no wildcard. */
static int check_name(const char *opt, const char *name)
{
    const char *p;

    for (p = name; *p; p++)
    {
        if (strchr("/\\:", *p))
            return failf("%s %s: a DLL name, not a path (no / \\ or :)", opt, name);
        if (*p <= 0x20 || *p >= 0x7f || strchr("*?\"<>|", *p))
            return failf("%s %s: only printable ASCII without spaces, * ? \" < > |", opt, name);
    }
    return 0;
}

static int parse_args(int argc, char **argv, struct options *o)
{
    int i;

    memset(o, 0, sizeof(*o));
    for (i = 1; i < argc; i++)
    {
        const char *a = argv[i];
        const char **value = NULL;

        if (!strcmp(a, "--name")) value = &o->name;
        else if (!strcmp(a, "--from")) value = &o->from;
        else if (!strcmp(a, "-o") || !strcmp(a, "--output")) value = &o->output;
        else if (!strncmp(a, "--name=", 7)) o->name = a + 7;
        else if (!strncmp(a, "--from=", 7)) o->from = a + 7;
        else if (!strcmp(a, "--check")) o->check = 1;
        else if (!strcmp(a, "--force")) o->force = 1;
        else if (!strcmp(a, "-h") || !strcmp(a, "--help")) return 1;
        else if (a[0] == '-' && a[1]) return failf("unknown option %s", a);
        else if (o->input) return failf("one FILE at a time (%s and %s)", o->input, a);
        else o->input = a;
        if (value)
        {
            if (++i == argc) return failf("%s needs a value", a);
            *value = argv[i];
        }
    }
    if (!o->input) return failf("no FILE given");
    if (!o->name) o->name = DEFAULT_NAME;
    if (!o->from) o->from = same_name((const unsigned char *)o->name, strlen(o->name), DEFAULT_FROM)
                            ? DEFAULT_NAME : DEFAULT_FROM;
    if (!o->output) o->output = o->input;
    if (check_name("--name", o->name) || check_name("--from", o->from)) return -1;
    if (!same_name((const unsigned char *)o->name, strlen(o->name), DEFAULT_FROM) &&
        !same_name((const unsigned char *)o->from, strlen(o->from), DEFAULT_FROM))
        return failf("this tool moves imports of ws2_32.dll: --from or --name must be ws2_32.dll");
    if (same_name((const unsigned char *)o->name, strlen(o->name), o->from))
        return failf("--name %s is the name it has already", o->name);
    /* Same length: the string is overwritten where it lies, nothing else in the file moves. */
    if (strlen(o->name) != strlen(o->from))
        return failf("--name %s: %lu characters; it must be as long as %s (%lu)", o->name,
                     (unsigned long)strlen(o->name), o->from, (unsigned long)strlen(o->from));
    return 0;
}

int main(int argc, char **argv)
{
    struct options o;
    int ret = parse_args(argc, argv, &o);

    if (ret > 0) usage();
    if (ret) return ret > 0 ? EXIT_DONE : bad_usage();
    return rebind(&o);
}
