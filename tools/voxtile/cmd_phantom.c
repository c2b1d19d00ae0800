/* cmd_phantom.c - `voxtile phantom -o CT.nii.gz [--label-map LABELS.nii.gz]`: a synthetic CT-like volume in
 * Hounsfield units and its label map, for demonstrations and tests.
 *
 * The anatomy is a few shapes in millimetres around the centre of the volume, scaled to the in-plane field of
 * view so that any size and spacing give a whole body: an elliptic trunk (subcutaneous fat -100 HU around soft
 * tissue 40 HU) tapering towards both ends, two lungs (-820 HU) in the upper part with the heart (45 HU) between
 * them, the liver (60 HU) below, a spine of vertebral bodies (cancellous bone 700 HU in a cortical shell of
 * 1100 HU) separated by discs (80 HU) with a spinal canal (15 HU) and a posterior arch (1000 HU), and ribs
 * (900 HU) around the thorax. Air is -1000 HU. Outside the circular reconstruction field of view every voxel is
 * the scanner's fill value (-2000 by default), as CT scanners write it.
 *
 * Labels (uint8): 0 background (air, and outside the field of view), 1 body (soft tissue, fat, heart, liver,
 * discs, canal), 2 lungs, 3 bone. Noise: every voxel inside the field of view gets an approximately Gaussian
 * deviate (the sum of four uniform 16-bit integers from a seeded SplitMix64 generator, scaled to --noise HU, so
 * bounded by 3.47 sigma), drawn in file order. Only integer arithmetic and IEEE +, -, *, / and sqrt are used,
 * so the same arguments give the same voxels on every machine (and the same .nii file; a .nii.gz also depends on
 * the compressor's version).
 *
 * The voxels are stored as int16 in LPS order (i to the patient's left, j posterior, k superior), as CT
 * converters such as dcm2niix write them, with the sform and the qform (code 1, scanner) set; --orientation
 * reorders them exactly (no interpolation). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* SplitMix64 (Steele, Lea, Flood 2014): one 64-bit draw per voxel. */
static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Standard deviation of the sum of four uniform integers in [0, 65535]: sqrt(4 (65536^2 - 1) / 12). */
#define IRWIN_HALL_SIGMA 37837.22636

typedef struct tissue {
    double hu;
    uint8_t label;
} tissue;

static const tissue AIR = {-1000, 0}, FAT = {-100, 1}, SOFT = {40, 1}, HEART = {45, 1}, LIVER = {60, 1},
                    DISC = {80, 1}, CSF = {15, 1}, LUNG = {-820, 2}, CANCELLOUS = {700, 3}, CORTICAL = {1100, 3},
                    ARCH = {1000, 3}, RIB = {900, 3};

static double sq(double x)
{
    return x * x;
}

/* The tissue at (u, v, w) mm from the centre: u to the patient's left, v posterior, w superior. R: in-plane
 * scale (half the smaller in-plane extent), H: half the extent along w. */
static tissue anatomy(double u, double v, double w, double R, double H)
{
    double t = 1.0 - 0.12 * sq(w / H);         /* the trunk narrows towards both ends */
    double a = 0.80 * R * t, b = 0.58 * R * t; /* trunk semi-axes */
    double rho = sqrt(sq(u / a) + sq(v / b));  /* 1 on the skin */
    if (rho > 1.0)
        return AIR;
    /* spine: vertebral bodies every 30 mm with 6 mm discs, centred on the posterior midline */
    double sc = 0.38 * R, sr = 0.11 * R;
    double period = 30.0, ph = fmod(w + 10000.0 * period, period); /* phase in [0, 30) */
    int disc = ph < 6.0;
    double rs = sqrt(sq(u) + sq(v - sc));
    if (rs <= sr)
        return disc ? DISC : rs > 0.78 * sr ? CORTICAL : CANCELLOUS;
    double cc = sc + sr + 0.06 * R, rc = sqrt(sq(u) + sq(v - cc)); /* canal and posterior arch */
    if (rc <= 0.05 * R)
        return CSF;
    if (rc <= 0.085 * R && !disc)
        return ARCH;
    if (rho > 0.93)
        return FAT;
    int thorax = w > -0.10 * H && w < 0.85 * H;
    /* ribs: 9 mm bands every 25 mm in the thorax, inside the fat, not over the spine */
    if (thorax && rho > 0.84 && rho <= 0.90 && v < 0.25 * R && fmod(w + 10000.0 * 25.0, 25.0) < 9.0)
        return RIB;
    /* heart, in front of and between the lungs */
    if (sq(u / (0.22 * R)) + sq((v + 0.16 * R) / (0.20 * R)) + sq((w - 0.15 * H) / (0.28 * H)) <= 1.0)
        return HEART;
    /* lungs */
    for (int side = -1; side <= 1; side += 2)
        if (sq((u - side * 0.36 * R) / (0.27 * R)) + sq((v + 0.02 * R) / (0.36 * R)) +
                sq((w - 0.30 * H) / (0.52 * H)) <=
            1.0)
            return LUNG;
    /* liver, on the patient's right below the lungs */
    if (sq((u + 0.28 * R) / (0.36 * R)) + sq((v + 0.05 * R) / (0.34 * R)) + sq((w + 0.35 * H) / (0.30 * H)) <= 1.0)
        return LIVER;
    return SOFT;
}

static int valid_orientation(const char *s)
{
    static const char *pairs[3] = {"RL", "AP", "SI"};
    int used[3] = {0, 0, 0};
    if (strlen(s) != 3)
        return 0;
    for (int i = 0; i < 3; i++) {
        int found = 0;
        for (int a = 0; a < 3; a++)
            if (s[i] == pairs[a][0] || s[i] == pairs[a][1]) {
                found = !used[a];
                used[a] = 1;
            }
        if (!found)
            return 0;
    }
    return 1;
}

typedef struct phantom_args {
    int64_t n[3];      /* i, j, k */
    double sp[3];      /* i, j, k */
    uint64_t seed;
    double noise, fill, fov;
    int have_fov;
    uint64_t counts[4];
} phantom_args;

static void generate(phantom_args *p, int16_t *ct, uint8_t *lab)
{
    uint64_t state = p->seed;
    const double R = 0.5 * fmin((double)p->n[0] * p->sp[0], (double)p->n[1] * p->sp[1]);
    const double H = 0.5 * (double)p->n[2] * p->sp[2];
    const double fov = p->have_fov ? p->fov : 2.0 * R;
    size_t idx = 0;
    for (int64_t k = 0; k < p->n[2]; k++) {
        double w = ((double)k - 0.5 * (double)(p->n[2] - 1)) * p->sp[2];
        for (int64_t j = 0; j < p->n[1]; j++) {
            double v = ((double)j - 0.5 * (double)(p->n[1] - 1)) * p->sp[1];
            for (int64_t i = 0; i < p->n[0]; i++, idx++) {
                double u = ((double)i - 0.5 * (double)(p->n[0] - 1)) * p->sp[0];
                uint64_t r = splitmix64(&state);
                if (fov > 0 && sq(u) + sq(v) > sq(0.5 * fov)) {
                    ct[idx] = (int16_t)p->fill;
                    lab[idx] = 0;
                    p->counts[0]++;
                    continue;
                }
                tissue t = anatomy(u, v, w, R, H);
                int64_t s = (int64_t)(r & 0xffff) + (int64_t)((r >> 16) & 0xffff) + (int64_t)((r >> 32) & 0xffff) +
                            (int64_t)(r >> 48) - 131070;
                double hu = floor(t.hu + (double)s * (p->noise / IRWIN_HALL_SIGMA) + 0.5);
                ct[idx] = (int16_t)(hu < -32768 ? -32768 : hu > 32767 ? 32767 : hu);
                lab[idx] = t.label;
                p->counts[t.label]++;
            }
        }
    }
}

enum { O_OUT = 1, O_LABELS, O_SHAPE, O_SPACING, O_SEED, O_NOISE, O_FILL, O_FOV, O_ORIENT, O_JSON };

static const cli_flag own[] = {
    {NULL, 0, NULL, 0, "outputs"},
    {"output", 'o', "CT", O_OUT, "the CT volume, int16 Hounsfield units (.nii, .nii.gz or .npy)"},
    {"label-map", 0, "FILE", O_LABELS, "its label map, uint8: 0 background, 1 body, 2 lungs, 3 bone"},
    {"json", 0, NULL, O_JSON, "print a summary as JSON"},
    {NULL, 0, NULL, 0, "the volume"},
    {"shape", 0, "Z,Y,X", O_SHAPE, "voxels (default 96,192,192)"},
    {"spacing", 0, "Z,Y,X", O_SPACING, "voxel size in mm (default 2.5,1.5,1.5)"},
    {"seed", 0, "N", O_SEED, "noise generator seed (default 1)"},
    {"noise", 0, "SIGMA", O_NOISE, "noise standard deviation in HU, 0 for none (default 10)"},
    {"fill", 0, "V", O_FILL, "value outside the field of view (default -2000)"},
    {"fov", 0, "MM", O_FOV, "diameter of the circular field of view (default: the smaller in-plane extent; 0: none)"},
    {"orientation", 0, "CODE", O_ORIENT, "voxel axis directions (default LPS, as CT converters write; e.g. RAS)"},
    {NULL, 0, NULL, 0, NULL},
};
static const cli_flag *const groups[] = {own, NULL};
static const cli_command_spec spec = {
    "phantom", "phantom -o CT [--label-map LABELS] [options]",
    "A synthetic CT-like volume (int16, Hounsfield units) and its label map with the same geometry: trunk, fat,\n"
    "lungs, heart, liver, spine, ribs; air -1000 HU; the scanner's fill value outside a circular field of view.\n"
    "Same arguments, same voxels.",
    groups, 0};

typedef struct ph_cli {
    phantom_args p;
    const char *out, *labels, *orient;
    int json;
} ph_cli;

static int bad(const char *flag, const char *what, const char *v)
{
    cli_error("phantom", "--%s: expected %s, got '%s'", flag, what, v);
    return VXT_EXIT_USAGE;
}

static int on_flag(void *user, const cli_flag *f, const char *v)
{
    ph_cli *c = (ph_cli *)user;
    phantom_args *p = &c->p;
    double d, ax[3];
    switch (f->id) {
    case O_OUT: c->out = v; return 0;
    case O_LABELS: c->labels = v; return 0;
    case O_ORIENT: c->orient = v; return 0;
    case O_JSON: c->json = 1; return 0;
    case O_SHAPE:
        if (!cli_parse_zyx(v, ax, NULL))
            return bad(f->name, "Z,Y,X voxels (whole numbers in [1, 4096])", v);
        for (int a = 0; a < 3; a++) { /* the generator's arrays are in NIfTI order (i, j, k) */
            if (ax[a] < 1 || ax[a] > 4096 || ax[a] != floor(ax[a]))
                return bad(f->name, "Z,Y,X voxels (whole numbers in [1, 4096])", v);
            p->n[2 - a] = (int64_t)ax[a];
        }
        return 0;
    case O_SPACING:
        if (!cli_parse_zyx(v, ax, NULL) || !(ax[0] > 0 && ax[1] > 0 && ax[2] > 0) || ax[0] > 1000 || ax[1] > 1000 ||
            ax[2] > 1000)
            return bad(f->name, "Z,Y,X in mm (> 0)", v);
        for (int a = 0; a < 3; a++)
            p->sp[2 - a] = ax[a];
        return 0;
    case O_SEED: {
        char *end = NULL;
        unsigned long long s = strtoull(v, &end, 10);
        if (!*v || *end || v[0] == '-')
            return bad(f->name, "a non-negative integer", v);
        p->seed = (uint64_t)s;
        return 0;
    }
    case O_NOISE:
        if (!cli_parse_double(v, &d) || d < 0 || d > 1000)
            return bad(f->name, "a standard deviation in HU in [0, 1000]", v);
        p->noise = d;
        return 0;
    case O_FILL:
        if (!cli_parse_double(v, &d) || d != floor(d) || d < -32768 || d > 32767)
            return bad(f->name, "an integer in [-32768, 32767]", v);
        p->fill = d;
        return 0;
    default:
        if (!cli_parse_double(v, &d) || d < 0)
            return bad(f->name, "a diameter in mm (>= 0)", v);
        p->fov = d;
        p->have_fov = 1;
        return 0;
    }
}

/* The CT and the label map with the phantom's geometry (LPS, centred on the world origin). */
static int make_images(const phantom_args *p, vxt_image **ct, vxt_image **lab)
{
    double aff[16] = {-p->sp[0], 0, 0, p->sp[0] * 0.5 * (double)(p->n[0] - 1),
                      0, -p->sp[1], 0, p->sp[1] * 0.5 * (double)(p->n[1] - 1),
                      0, 0, p->sp[2], -p->sp[2] * 0.5 * (double)(p->n[2] - 1),
                      0, 0, 0, 1};
    vxt_geometry g;
    vxt_geometry_init(&g);
    vxt_status st = vxt_geometry_from_affine(aff, VXT_NIFTI_XFORM_SCANNER_ANAT, &g);
    const int64_t shape[3] = {p->n[2], p->n[1], p->n[0]};
    if (st == VXT_OK)
        st = vxt_image_create(VXT_DTYPE_I16, 1, shape, NULL, ct);
    if (st == VXT_OK)
        st = vxt_image_create(VXT_DTYPE_U8, 1, shape, NULL, lab);
    if (st == VXT_OK)
        st = vxt_image_set_geometry(*ct, &g);
    if (st == VXT_OK)
        st = vxt_image_set_geometry(*lab, &g);
    if (st != VXT_OK)
        return cli_fail("phantom", "cannot create the images", st);
    char desc[80];
    snprintf(desc, sizeof desc, "voxtile phantom seed=%llu noise=%g fill=%g", (unsigned long long)p->seed, p->noise,
             p->fill);
    vxt_image_set_description(*ct, desc);
    vxt_image_set_description(*lab, "voxtile phantom labels: 0 background 1 body 2 lungs 3 bone");
    vxt_nifti_set_intent(*lab, 1002, "labels", NULL); /* as voxtile run and stitch write label maps */
    return 0;
}

static int summary(const ph_cli *c, const vxt_image *ct, double seconds)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "output", c->out);
    if (c->labels)
        cJSON_AddStringToObject(j, "label_map", c->labels);
    cli_json_image(j, ct);
    cJSON_AddNumberToObject(j, "seed", (double)c->p.seed);
    cJSON_AddNumberToObject(j, "noise", c->p.noise);
    cJSON_AddNumberToObject(j, "fill", c->p.fill);
    cJSON *cnt = cJSON_AddObjectToObject(j, "label_voxels");
    static const char *names[4] = {"background", "body", "lungs", "bone"};
    for (int l = 0; l < 4; l++)
        cJSON_AddNumberToObject(cnt, names[l], (double)c->p.counts[l]);
    cJSON_AddNumberToObject(j, "seconds", seconds);
    return cli_print_json(j);
}

static int check_args(const ph_cli *c)
{
    int rc;
    if (!c->out) {
        cli_error("phantom", "missing -o CT");
        return VXT_EXIT_USAGE;
    }
    if (!valid_orientation(c->orient)) {
        cli_error("phantom", "--orientation: '%s' is not an orientation code (three letters, one of R/L, one of A/P, "
                  "one of S/I, e.g. LPS or RAS)", c->orient);
        return VXT_EXIT_USAGE;
    }
    if ((rc = cli_check_output("phantom", "-o", c->out, "image")) ||
        (c->labels && (rc = cli_check_output("phantom", "--label-map", c->labels, "image"))))
        return rc;
    if (c->labels && cli_same_file(c->labels, c->out)) {
        cli_error("phantom", "--label-map and -o name the same file '%s'", c->out);
        return VXT_EXIT_USAGE;
    }
    return 0;
}

static int parse(void *args, int argc, char **argv, const char **pos, int *npos, vxt_plan **plan)
{
    ph_cli *c = (ph_cli *)args;
    (void)plan;
    c->p.n[0] = 192, c->p.n[1] = 192, c->p.n[2] = 96;
    c->p.sp[0] = 1.5, c->p.sp[1] = 1.5, c->p.sp[2] = 2.5;
    c->p.seed = 1;
    c->p.noise = 10;
    c->p.fill = -2000;
    c->orient = "LPS";
    return cli_parse(&spec, argc, argv, on_flag, c, pos, npos);
}

int cmd_phantom(int argc, char **argv)
{
    ph_cli c;
    memset(&c, 0, sizeof c);
    const char *pos[1];
    int npos = 0, rc = parse(&c, argc, argv, pos, &npos, NULL);
    if (rc)
        return rc < 0 ? VXT_EXIT_OK : rc;
    if ((rc = check_args(&c)))
        return rc;
    double t0 = cli_seconds();
    vxt_image *ct = NULL, *lab = NULL, *ct_o = NULL, *lab_o = NULL;
    if ((rc = make_images(&c.p, &ct, &lab)))
        goto done;
    vxt_volume cv, lv;
    vxt_image_volume(ct, &cv);
    vxt_image_volume(lab, &lv);
    generate(&c.p, (int16_t *)cv.data, (uint8_t *)lv.data);
    if (strcmp(c.orient, "LPS") != 0 && (vxt_image_reorient(ct, c.orient, &ct_o) != VXT_OK ||
                                         vxt_image_reorient(lab, c.orient, &lab_o) != VXT_OK)) {
        cli_error("phantom", "--orientation: %s", vxt_last_error());
        rc = VXT_EXIT_USAGE;
        goto done;
    }
    /* the CT and its labels appear together, or neither (a failure leaves earlier files as they were) */
    vxt_output_set *set = NULL;
    vxt_status st;
    if ((st = vxt_output_set_create(&set)) == VXT_OK &&
        (st = vxt_output_set_add_image(set, ct_o ? ct_o : ct, c.out, NULL)) == VXT_OK &&
        (!c.labels || (st = vxt_output_set_add_image(set, lab_o ? lab_o : lab, c.labels, NULL)) == VXT_OK))
        st = vxt_output_set_commit(set);
    vxt_output_set_destroy(set);
    if (st != VXT_OK) {
        rc = cli_output_fail("phantom", "output", st);
        goto done;
    }
    if (c.json)
        rc = summary(&c, ct_o ? ct_o : ct, cli_seconds() - t0);
done:
    vxt_image_destroy(ct);
    vxt_image_destroy(lab);
    vxt_image_destroy(ct_o);
    vxt_image_destroy(lab_o);
    return rc;
}

static int check(const void *args, const vxt_plan *plan, const char *const *pos, int npos)
{
    (void)plan, (void)pos, (void)npos;
    return check_args((const ph_cli *)args);
}

const cli_command cmd_phantom_parsing = {&spec, sizeof(ph_cli), parse, check};
