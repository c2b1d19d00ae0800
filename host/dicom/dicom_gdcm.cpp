// dicom_gdcm.cpp - the extern "C" layer over GDCM (dicom_gdcm.h): one DICOM file's header as plain C data. GDCM
// decodes no pixel data here: its codecs abort, leak and print on corrupt streams (dicom_codec.h says which decoders
// voxtile uses instead).
// Every entry catches every exception; nothing is printed (GDCM's trace output is switched off once per process,
// before the first read: std::call_once). The caller (dicom_series.c) checks sizes before asking for pixel data.
#include "dicom_gdcm.h"

#include <gdcmDataSet.h>
#include <gdcmFile.h>
#include <gdcmReader.h>
#include <gdcmSequenceOfItems.h>
#include <gdcmStringFilter.h>
#include <gdcmTrace.h>
#include <gdcmTransferSyntax.h>
#include <gdcmVersion.h>

#include <cerrno>
#include <climits>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <new>
#include <set>
#include <string>
#include <sys/stat.h>

namespace {

std::once_flag quiet_once;

// GDCM writes warnings ("Incomplete Pixel Data found") and errors to std::cerr unless told not to; a library must
// not print. These are GDCM's own process-wide switches, set once and never changed back.
void quiet()
{
    std::call_once(quiet_once, [] {
        gdcm::Trace::SetDebug(false);
        gdcm::Trace::SetWarning(false);
        gdcm::Trace::SetError(false);
    });
}

void say(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    for (char *c = err; *c; c++) // one printable line: values quoted from a file may hold any byte
        if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
            *c = '?';
}

// A reader over a file (bytes from memory arrive as an unnamed file: dicom_series.c).
struct source {
    const char *path;
    std::ifstream file;
    bool open(gdcm::Reader &r)
    {
        struct stat st;
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
            return false;
        file.open(path, std::ios::in | std::ios::binary);
        if (!file.is_open())
            return false;
        r.SetStream(file);
        return true;
    }
};

void copy_str(char *dst, size_t n, const std::string &s)
{
    // DICOM pads strings with spaces (and UIDs with a NUL); trim both ends
    size_t a = 0, b = s.size();
    while (a < b && (s[a] == ' ' || s[a] == '\0'))
        a++;
    while (b > a && (s[b - 1] == ' ' || s[b - 1] == '\0'))
        b--;
    size_t k = b - a < n - 1 ? b - a : n - 1;
    memcpy(dst, s.data() + a, k);
    dst[k] = '\0';
    // printable ASCII only: these strings reach one-line messages and listings, and voxtile does not convert
    // DICOM's character sets (SpecificCharacterSet (0008,0005)): another byte shows as '?'
    for (size_t i = 0; i < k; i++)
        if ((unsigned char)dst[i] < 0x20 || (unsigned char)dst[i] >= 0x7f)
            dst[i] = '?';
}

// The numbers of a DS/IS/US/... value rendered by gdcm::StringFilter ("1\2\3"). Returns how many were parsed
// (at most n); a value that is not a number stops the parse and gives -1.
int numbers(const std::string &s, double *v, int n)
{
    int k = 0;
    const char *p = s.c_str();
    while (*p && k < n) {
        while (*p == ' ')
            p++;
        if (!*p)
            break;
        char *end = nullptr;
        errno = 0;
        double d = strtod(p, &end);
        if (end == p)
            return -1;
        v[k++] = d;
        p = end;
        while (*p == ' ' || *p == '\0')
            if (!*p++)
                return k;
        if (*p == '\\')
            p++;
        else if (*p)
            return -1;
    }
    return k;
}

struct tags {
    const gdcm::StringFilter &sf;
    std::string str(const gdcm::DataSet &ds, uint16_t g, uint16_t e) const
    {
        gdcm::Tag t(g, e);
        if (!ds.FindDataElement(t))
            return std::string();
        const gdcm::DataElement &de = ds.GetDataElement(t);
        if (de.IsEmpty())
            return std::string();
        return sf.ToString(de);
    }
    // -1: present but not numbers; 0: absent or empty; else the count read
    int num(const gdcm::DataSet &ds, uint16_t g, uint16_t e, double *v, int n) const
    {
        std::string s = str(ds, g, e);
        if (s.empty())
            return 0;
        return numbers(s, v, n);
    }
    // item i (1-based) of a sequence (g, e) in ds; ds() is nullptr when there is none. The sequence is held: GDCM
    // may parse a sequence read as bytes (implicit VR) into a fresh object that only this reference keeps alive.
    struct item {
        gdcm::SmartPointer<gdcm::SequenceOfItems> sq;
        const gdcm::DataSet *set = nullptr;
        item(const gdcm::DataSet &ds, uint16_t g, uint16_t e, size_t i = 1)
        {
            gdcm::Tag t(g, e);
            if (!ds.FindDataElement(t))
                return;
            sq = ds.GetDataElement(t).GetValueAsSQ();
            if (sq && sq->GetNumberOfItems() >= i)
                set = &sq->GetItem(i).GetNestedDataSet();
        }
        const gdcm::DataSet *ds() const { return set; }
    };
};

const char *tagname(uint16_t g, uint16_t e)
{
    static thread_local char b[16];
    snprintf(b, sizeof b, "(%04X,%04X)", g, e);
    return b;
}

// Position, orientation, spacing and rescale of a plane from a dataset holding them at the top level (classic
// files) or in functional-group macros (enhanced files: the shared item, then the frame's). Returns 0, or -1 with
// err naming the tag whose value is not a number.
int plane_fields(const tags &T, const gdcm::DataSet &ds, int nested, vxt__dcm_frame *f, char *err, size_t errlen,
                 const char *where)
{
    struct field {
        uint16_t sg, se; // the functional-group sequence holding it (enhanced), 0 at the top level
        uint16_t g, e;
        int count;
        double *dst;
        int *has;
    } fields[] = {
        {0x0020, 0x9113, 0x0020, 0x0032, 3, f->ipp, &f->has_ipp},
        {0x0020, 0x9116, 0x0020, 0x0037, 6, f->iop, &f->has_iop},
        {0x0028, 0x9110, 0x0028, 0x0030, 2, f->spacing, &f->has_spacing},
    };
    for (const field &x : fields) {
        tags::item it(ds, x.sg, x.se);
        const gdcm::DataSet *d = nested ? it.ds() : &ds;
        if (!d)
            continue;
        double v[6];
        int k = T.num(*d, x.g, x.e, v, x.count);
        if (k == 0)
            continue;
        if (k != x.count) {
            say(err, errlen, "%s %s: expected %d numbers, got '%s'", where, tagname(x.g, x.e), x.count,
                T.str(*d, x.g, x.e).c_str());
            return -1;
        }
        memcpy(x.dst, v, sizeof(double) * (size_t)x.count);
        *x.has = 1;
    }
    tags::item it(ds, 0x0028, 0x9145);
    const gdcm::DataSet *d = nested ? it.ds() : &ds;
    if (d) {
        double s = 1.0, i = 0.0;
        int ks = T.num(*d, 0x0028, 0x1053, &s, 1), ki = T.num(*d, 0x0028, 0x1052, &i, 1);
        if (ks < 0 || ki < 0) {
            uint16_t e = ks < 0 ? 0x1053 : 0x1052;
            say(err, errlen, "%s %s: not a number: '%s'", where, tagname(0x0028, e), T.str(*d, 0x0028, e).c_str());
            return -1;
        }
        if (ks > 0 || ki > 0) {
            f->has_rescale = 1;
            f->slope = ks > 0 ? s : 1.0;
            f->inter = ki > 0 ? i : 0.0;
        }
    }
    return 0;
}

int64_t int_or(const tags &T, const gdcm::DataSet &ds, uint16_t g, uint16_t e, int64_t dflt, int *bad)
{
    double v;
    int k = T.num(ds, g, e, &v, 1);
    if (k == 0)
        return dflt;
    if (k < 0 || !std::isfinite(v) || v != std::floor(v) || std::fabs(v) > 9.0e15) {
        *bad = 1;
        return dflt;
    }
    return (int64_t)v;
}

} // namespace

extern "C" void vxt__dcm_file_free(vxt__dcm_file *f)
{
    if (f) {
        free(f->frame);
        f->frame = nullptr;
    }
}

extern "C" int vxt__dcm_available(void)
{
    return 1;
}

extern "C" const char *vxt__dcm_gdcm_version(void)
{
    return gdcm::Version::GetVersion();
}

extern "C" int vxt__dcm_scan(const char *path, vxt__dcm_file *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    quiet();
    try {
        // every element but the pixel data (skipped: dicom_check.c found it and checked its length; GDCM's
        // ReadSelectedTags asserts on a stream that ends inside a value it skips)
        source s{path, {}};
        gdcm::Reader r;
        if (!s.open(r)) {
            say(err, errlen, "cannot open: %s", strerror(errno ? errno : EIO));
            return VXT__DCM_ERROR;
        }
        std::set<gdcm::Tag> skip;
        skip.insert(gdcm::Tag(0x7fe0, 0x0010));
        if (!r.ReadUpToTag(gdcm::Tag(0x7fe0, 0x0010), skip)) {
            say(err, errlen, "truncated or corrupt: GDCM cannot parse its elements");
            return VXT__DCM_ERROR;
        }
        const gdcm::File &file = r.GetFile();
        const gdcm::DataSet &ds = file.GetDataSet();
        gdcm::StringFilter sf;
        sf.SetFile(file);
        tags T{sf};
        const gdcm::TransferSyntax &ts = file.GetHeader().GetDataSetTransferSyntax();
        const char *tss = ts.GetString();
        if (ts != gdcm::TransferSyntax::TS_END && tss)
            copy_str(out->ts_uid, sizeof out->ts_uid, tss);
        else
            copy_str(out->ts_uid, sizeof out->ts_uid, T.str(file.GetHeader(), 0x0002, 0x0010));
        copy_str(out->sop_class, sizeof out->sop_class, T.str(ds, 0x0008, 0x0016));
        copy_str(out->sop_uid, sizeof out->sop_uid, T.str(ds, 0x0008, 0x0018));
        copy_str(out->series_uid, sizeof out->series_uid, T.str(ds, 0x0020, 0x000e));
        copy_str(out->modality, sizeof out->modality, T.str(ds, 0x0008, 0x0060));
        copy_str(out->description, sizeof out->description, T.str(ds, 0x0008, 0x103e));
        copy_str(out->photometric, sizeof out->photometric, T.str(ds, 0x0028, 0x0004));
        int bad = 0;
        out->series_number = int_or(T, ds, 0x0020, 0x0011, INT64_MIN, &bad);
        out->instance_number = int_or(T, ds, 0x0020, 0x0013, INT64_MIN, &bad);
        bad = 0; // numbers only for ordering and listing: a malformed one is as good as none
        struct {
            uint16_t e;
            int64_t *dst;
            int64_t dflt;
        } dims[] = {{0x0010, &out->rows, -1}, {0x0011, &out->cols, -1}, {0x0008, &out->frames, 1}};
        for (auto &d : dims) {
            *d.dst = int_or(T, ds, 0x0028, d.e, d.dflt, &bad);
            if (bad) {
                say(err, errlen, "%s: not a whole number: '%s'", tagname(0x0028, d.e), T.str(ds, 0x0028, d.e).c_str());
                return VXT__DCM_ERROR;
            }
        }
        out->has_image = out->rows >= 0 && out->cols >= 0;
        struct {
            uint16_t e;
            int *dst;
            int dflt;
        } px[] = {{0x0100, &out->bits_allocated, 0}, {0x0101, &out->bits_stored, 0}, {0x0102, &out->high_bit, -1},
                  {0x0103, &out->pixel_rep, 0}, {0x0002, &out->samples, 1}};
        for (auto &p : px) {
            int64_t v = int_or(T, ds, 0x0028, p.e, p.dflt, &bad);
            if (bad || v < INT_MIN || v > INT_MAX) {
                say(err, errlen, "%s: not a small whole number: '%s'", tagname(0x0028, p.e),
                    T.str(ds, 0x0028, p.e).c_str());
                return VXT__DCM_ERROR;
            }
            *p.dst = (int)v;
        }
        double v;
        int k = T.num(ds, 0x0028, 0x0120, &v, 1);
        if (k > 0) {
            out->has_padding = 1;
            out->padding = v;
        }
        k = T.num(ds, 0x0028, 0x0121, &v, 1);
        if (k > 0) {
            out->has_padding_limit = 1;
            out->padding_limit = v;
        }
        k = T.num(ds, 0x0018, 0x1120, &v, 1);
        if (k > 0 && std::isfinite(v)) {
            out->has_tilt = 1;
            out->tilt = v;
        }
        k = T.num(ds, 0x0018, 0x0050, &v, 1);
        out->thickness = k > 0 && std::isfinite(v) ? v : 0.0;
        if (!out->has_image)
            return VXT__DCM_OK; // a report, a structure set, a directory: the caller skips it
        if (out->frames < 1) {
            say(err, errlen, "NumberOfFrames (0028,0008) = %lld", (long long)out->frames);
            return VXT__DCM_ERROR;
        }
        // planes: a classic file's one, or every frame's from the functional groups
        tags::item shared_item(ds, 0x5200, 0x9229);
        const gdcm::DataSet *shared = shared_item.ds();
        gdcm::SmartPointer<gdcm::SequenceOfItems> per;
        if (ds.FindDataElement(gdcm::Tag(0x5200, 0x9230)))
            per = ds.GetDataElement(gdcm::Tag(0x5200, 0x9230)).GetValueAsSQ();
        out->enhanced = per && per->GetNumberOfItems() > 0;
        if (out->enhanced && (uint64_t)per->GetNumberOfItems() != (uint64_t)out->frames) {
            say(err, errlen, "PerFrameFunctionalGroupsSequence (5200,9230) has %llu items for %lld frames "
                "(NumberOfFrames (0028,0008))", (unsigned long long)per->GetNumberOfItems(), (long long)out->frames);
            return VXT__DCM_ERROR;
        }
        const int64_t nf = out->enhanced ? out->frames : 1;
        out->frame = static_cast<vxt__dcm_frame *>(calloc((size_t)nf, sizeof(vxt__dcm_frame)));
        if (!out->frame) {
            say(err, errlen, "out of memory for %lld frames", (long long)nf);
            return VXT__DCM_ERROR;
        }
        vxt__dcm_frame base{};
        base.slope = 1.0;
        if (plane_fields(T, ds, 0, &base, err, errlen, "") != 0)
            return VXT__DCM_ERROR;
        if (shared && plane_fields(T, *shared, 1, &base, err, errlen, "SharedFunctionalGroupsSequence (5200,9229):") != 0)
            return VXT__DCM_ERROR;
        for (int64_t i = 0; i < nf; i++) {
            vxt__dcm_frame *f = &out->frame[i];
            *f = base;
            f->frame = i;
            if (out->enhanced) {
                char where[96];
                snprintf(where, sizeof where, "PerFrameFunctionalGroupsSequence (5200,9230) item %lld:", (long long)i + 1);
                if (plane_fields(T, per->GetItem((size_t)i + 1).GetNestedDataSet(), 1, f, err, errlen, where) != 0)
                    return VXT__DCM_ERROR;
            }
        }
        return VXT__DCM_OK;
    } catch (const std::bad_alloc &) {
        vxt__dcm_file_free(out);
        say(err, errlen, "out of memory while reading the header");
        return VXT__DCM_ERROR;
    } catch (const std::exception &e) {
        vxt__dcm_file_free(out);
        say(err, errlen, "corrupt: GDCM: %s", e.what());
        return VXT__DCM_ERROR;
    } catch (...) {
        vxt__dcm_file_free(out);
        say(err, errlen, "corrupt: GDCM failed to read it");
        return VXT__DCM_ERROR;
    }
}
