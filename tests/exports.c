/* The export tables of the built DLLs, read from their files, against what Windows 10/11's
 * ws2_32 exports: every name, the fixed ordinals exactly, x86 names undecorated. */

#include <stdio.h>
#include "ws2test.h"
#include "reference.h"

struct pe_export
{
    int ordinal;
    char name[64];
};

struct pe_file
{
    unsigned char *data;
    DWORD size;
    BOOL is64;
    int count;
    struct pe_export exports[1024];
};

static BOOL in_file(const struct pe_file *pe, DWORD offset, DWORD len)
{
    return offset <= pe->size && len <= pe->size - offset;
}

static DWORD rva_to_offset(const struct pe_file *pe, const IMAGE_SECTION_HEADER *sections, int count, DWORD rva)
{
    int i;

    for (i = 0; i < count; i++)
        if (rva >= sections[i].VirtualAddress && rva < sections[i].VirtualAddress + sections[i].Misc.VirtualSize)
            return rva - sections[i].VirtualAddress + sections[i].PointerToRawData;
    return pe->size;
}

static BOOL read_file(const char *path, struct pe_file *pe)
{
    HANDLE file = CreateFileA(path, GENERIC_READ, FILE_SHARE_READ, NULL, OPEN_EXISTING, 0, NULL);
    DWORD got = 0;

    if (file == INVALID_HANDLE_VALUE) return FALSE;
    pe->size = GetFileSize(file, NULL);
    pe->data = malloc(pe->size);
    ReadFile(file, pe->data, pe->size, &got, NULL);
    CloseHandle(file);
    return got == pe->size;
}

/* Fills PE's export list from the file's export directory; FALSE if the file is no DLL. */
static BOOL parse_exports(struct pe_file *pe)
{
    const IMAGE_DOS_HEADER *dos = (void *)pe->data;
    const IMAGE_NT_HEADERS32 *nt32;
    const IMAGE_SECTION_HEADER *sections;
    const IMAGE_EXPORT_DIRECTORY *dir;
    const IMAGE_DATA_DIRECTORY *data_dir;
    const DWORD *names;
    const WORD *ordinals;
    DWORD offset, i;

    if (!in_file(pe, 0, sizeof(*dos)) || dos->e_magic != IMAGE_DOS_SIGNATURE) return FALSE;
    if (!in_file(pe, dos->e_lfanew, sizeof(IMAGE_NT_HEADERS64))) return FALSE;
    nt32 = (void *)(pe->data + dos->e_lfanew);
    if (nt32->Signature != IMAGE_NT_SIGNATURE) return FALSE;
    pe->is64 = nt32->OptionalHeader.Magic == IMAGE_NT_OPTIONAL_HDR64_MAGIC;
    data_dir = pe->is64 ? ((const IMAGE_NT_HEADERS64 *)nt32)->OptionalHeader.DataDirectory
                        : nt32->OptionalHeader.DataDirectory;
    sections = (const void *)((const char *)&nt32->OptionalHeader + nt32->FileHeader.SizeOfOptionalHeader);
    offset = rva_to_offset(pe, sections, nt32->FileHeader.NumberOfSections,
                           data_dir[IMAGE_DIRECTORY_ENTRY_EXPORT].VirtualAddress);
    if (!in_file(pe, offset, sizeof(*dir))) return FALSE;
    dir = (void *)(pe->data + offset);
    names = (void *)(pe->data + rva_to_offset(pe, sections, nt32->FileHeader.NumberOfSections, dir->AddressOfNames));
    ordinals = (void *)(pe->data + rva_to_offset(pe, sections, nt32->FileHeader.NumberOfSections, dir->AddressOfNameOrdinals));
    if (!in_file(pe, (const unsigned char *)names - pe->data, dir->NumberOfNames * 4)) return FALSE;
    if (!in_file(pe, (const unsigned char *)ordinals - pe->data, dir->NumberOfNames * 2)) return FALSE;
    for (i = 0; i < dir->NumberOfNames && pe->count < 1024; i++)
    {
        DWORD name = rva_to_offset(pe, sections, nt32->FileHeader.NumberOfSections, names[i]);
        if (!in_file(pe, name, 1)) return FALSE;
        lstrcpynA(pe->exports[pe->count].name, (const char *)pe->data + name, 64);
        pe->exports[pe->count++].ordinal = ordinals[i] + dir->Base;
    }
    return TRUE;
}

static const struct pe_export *find_export(const struct pe_file *pe, const char *name)
{
    int i;

    for (i = 0; i < pe->count; i++)
        if (!strcmp(pe->exports[i].name, name)) return &pe->exports[i];
    return NULL;
}

static void check_dll(const char *path)
{
    struct pe_file *pe = calloc(1, sizeof(*pe));
    unsigned int i, missing = 0, wrong_ordinal = 0;
    int decorated = 0, j;

    winetest_push_context("%s", path);
    ok(read_file(path, pe), "cannot read the file\n");
    ok(parse_exports(pe), "no export table\n");
    trace("%s DLL, %d named exports\n", pe->is64 ? "x64" : "x86", pe->count);
    for (i = 0; i < ARRAYSIZE(reference_exports); i++)
    {
        const struct reference_export *ref = &reference_exports[i];
        const struct pe_export *found = find_export(pe, ref->name);

        if (!found) missing++;
        else if (ref->ordinal && found->ordinal != ref->ordinal) wrong_ordinal++;
        if (strcmp(ws2_target, "platform"))
        {
            ok(found != NULL, "%s is not exported\n", ref->name);
            if (found && ref->ordinal)
                ok(found->ordinal == ref->ordinal, "%s has ordinal %d, Windows has %d\n",
                   ref->name, found->ordinal, ref->ordinal);
        }
    }
    for (j = 0; j < pe->count; j++) if (strchr(pe->exports[j].name, '@')) decorated++;
    ok(!decorated, "%d export names are decorated\n", decorated);
    if (!strcmp(ws2_target, "platform"))
        trace("the platform lacks %u of the %u names, %u fixed ordinals differ\n",
              missing, (unsigned)ARRAYSIZE(reference_exports), wrong_ordinal);
    winetest_pop_context();
    free(pe->data);
    free(pe);
}

static void test_tables(void)
{
    char extra[4 * MAX_PATH], *path, *next;

    ok(ARRAYSIZE(reference_exports) == 197, "the reference lists %u names\n", (unsigned)ARRAYSIZE(reference_exports));
    check_dll(ws2->path);
    /* The other architecture's build, which this machine may not be able to run. */
    if (GetEnvironmentVariableA("WS2_TEST_EXTRA_DLLS", extra, sizeof(extra)))
        for (path = strtok_r(extra, ";", &next); path; path = strtok_r(NULL, ";", &next)) check_dll(path);
}

START_TEST(exports)
{
    if (!ws2_bind()) return;
    subtest("tables", test_tables);
}
