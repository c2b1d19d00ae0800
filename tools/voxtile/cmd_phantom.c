/* cmd_phantom.c - `voxtile phantom -o CT.nii.gz [--labels LABELS.nii.gz]`: a synthetic CT-like volume in
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
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_image.h"

static void help(void)
{
    printf("usage: voxtile phantom -o CT.nii[.gz] [--labels LABELS.nii[.gz]] [options]\n"
           "A synthetic CT-like volume (int16, Hounsfield units) and its label map (uint8: 0 background, 1 body,\n"
           "2 lungs, 3 bone) with the same geometry: trunk, fat, lungs, heart, liver, spine, ribs; air -1000 HU;\n"
           "the scanner's fill value outside a circular field of view. Same arguments, same voxels.\n"
           "  --shape X,Y,Z        voxels along i, j, k (NIfTI order; default 192,192,96)\n"
           "  --spacing X,Y,Z      voxel size in mm along i, j, k (default 1.5,1.5,2.5)\n"
           "  --seed N             noise generator seed (default 1)\n"
           "  --noise SIGMA        noise standard deviation in HU, 0 for none (default 10)\n"
           "  --fill V             value outside the field of view (default -2000)\n"
           "  --fov MM             diameter of the circular field of view (default: the smaller in-plane extent;\n"
           "                       0: none)\n"
           "  --orientation CODE   voxel axis directions (default LPS, as CT converters write; e.g. RAS)\n"
           "  --json               print a summary as JSON\n"
           "Exit status: 0 ok, 2 usage, 5 an output cannot be written.\n");
}

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

int cmd_phantom(int argc, char **argv)
{
    enum { O_LABELS = 1, O_SHAPE, O_SPACING, O_SEED, O_NOISE, O_FILL, O_FOV, O_ORIENT, O_JSON };
    static const struct option longopts[] = {{"output", required_argument, NULL, 'o'},
                                             {"labels", required_argument, NULL, O_LABELS},
                                             {"shape", required_argument, NULL, O_SHAPE},
                                             {"spacing", required_argument, NULL, O_SPACING},
                                             {"seed", required_argument, NULL, O_SEED},
                                             {"noise", required_argument, NULL, O_NOISE},
                                             {"fill", required_argument, NULL, O_FILL},
                                             {"fov", required_argument, NULL, O_FOV},
                                             {"orientation", required_argument, NULL, O_ORIENT},
                                             {"json", no_argument, NULL, O_JSON},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    phantom_args p;
    memset(&p, 0, sizeof p);
    p.n[0] = 192, p.n[1] = 192, p.n[2] = 96;
    p.sp[0] = 1.5, p.sp[1] = 1.5, p.sp[2] = 2.5;
    p.seed = 1;
    p.noise = 10;
    p.fill = -2000;
    const char *out = NULL, *labels = NULL, *orient = "LPS";
    int json = 0, c;
    double d, ax[3];
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:", longopts, NULL)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case O_LABELS: labels = optarg; break;
        case O_SHAPE:
            if (!cli_parse_xyz(optarg, ax) || ax[0] < 1 || ax[1] < 1 || ax[2] < 1 || ax[0] > 4096 || ax[1] > 4096 ||
                ax[2] > 4096 || ax[0] != floor(ax[0]) || ax[1] != floor(ax[1]) || ax[2] != floor(ax[2])) {
                cli_error("phantom", "--shape: expected X,Y,Z voxels (whole numbers in [1, 4096]), got '%s'", optarg);
                return VXT_EXIT_USAGE;
            }
            for (int a = 0; a < 3; a++) /* ax is in volume order (k, j, i) */
                p.n[a] = (int64_t)ax[2 - a];
            break;
        case O_SPACING:
            if (!cli_parse_xyz(optarg, ax) || !(ax[0] > 0) || !(ax[1] > 0) || !(ax[2] > 0) || ax[0] > 1000 ||
                ax[1] > 1000 || ax[2] > 1000) {
                cli_error("phantom", "--spacing: expected X,Y,Z in mm (> 0), got '%s'", optarg);
                return VXT_EXIT_USAGE;
            }
            for (int a = 0; a < 3; a++)
                p.sp[a] = ax[2 - a];
            break;
        case O_SEED: {
            char *end = NULL;
            unsigned long long s = strtoull(optarg, &end, 10);
            if (!*optarg || *end || optarg[0] == '-') {
                cli_error("phantom", "--seed: expected a non-negative integer, got '%s'", optarg);
                return VXT_EXIT_USAGE;
            }
            p.seed = (uint64_t)s;
            break;
        }
        case O_NOISE:
            if (!cli_parse_double(optarg, &d) || d < 0 || d > 1000) {
                cli_error("phantom", "--noise: expected a standard deviation in HU in [0, 1000], got '%s'", optarg);
                return VXT_EXIT_USAGE;
            }
            p.noise = d;
            break;
        case O_FILL:
            if (!cli_parse_double(optarg, &d) || d != floor(d) || d < -32768 || d > 32767) {
                cli_error("phantom", "--fill: expected an integer in [-32768, 32767], got '%s'", optarg);
                return VXT_EXIT_USAGE;
            }
            p.fill = d;
            break;
        case O_FOV:
            if (!cli_parse_double(optarg, &d) || d < 0) {
                cli_error("phantom", "--fov: expected a diameter in mm (>= 0), got '%s'", optarg);
                return VXT_EXIT_USAGE;
            }
            p.fov = d;
            p.have_fov = 1;
            break;
        case O_ORIENT: orient = optarg; break;
        case O_JSON: json = 1; break;
        case 'h': help(); return VXT_EXIT_OK;
        default:
            cli_error("phantom", "unknown or incomplete option '%s' (see voxtile phantom --help)", argv[optind - 1]);
            return VXT_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        cli_error("phantom", "unexpected argument '%s'", argv[optind]);
        return VXT_EXIT_USAGE;
    }
    if (!out) {
        cli_error("phantom", "missing -o CT.nii.gz");
        return VXT_EXIT_USAGE;
    }
    if (!valid_orientation(orient)) {
        cli_error("phantom", "--orientation: '%s' is not an orientation code (three letters, one of R/L, one of A/P, "
                  "one of S/I, e.g. LPS or RAS)", orient);
        return VXT_EXIT_USAGE;
    }
    int rc;
    if ((rc = cli_check_output("phantom", "-o", out, "nifti")) ||
        (labels && (rc = cli_check_output("phantom", "--labels", labels, "nifti"))))
        return rc;
    if (labels && !strcmp(labels, out)) {
        cli_error("phantom", "--labels and -o name the same file '%s'", out);
        return VXT_EXIT_USAGE;
    }
    double t0 = cli_seconds();

    /* LPS: i to the left (world x decreasing), j posterior (y decreasing), k superior; centre at the origin */
    double aff[16] = {-p.sp[0], 0, 0, p.sp[0] * 0.5 * (double)(p.n[0] - 1),
                      0, -p.sp[1], 0, p.sp[1] * 0.5 * (double)(p.n[1] - 1),
                      0, 0, p.sp[2], -p.sp[2] * 0.5 * (double)(p.n[2] - 1),
                      0, 0, 0, 1};
    vxt_geometry g;
    vxt_geometry_init(&g);
    vxt_status st = vxt_geometry_from_affine(aff, VXT_NIFTI_XFORM_SCANNER_ANAT, &g);
    const int64_t shape[3] = {p.n[2], p.n[1], p.n[0]};
    vxt_image *ct = NULL, *lab = NULL, *ct_o = NULL, *lab_o = NULL;
    if (st == VXT_OK)
        st = vxt_image_create(VXT_DTYPE_I16, 1, shape, NULL, &ct);
    if (st == VXT_OK)
        st = vxt_image_create(VXT_DTYPE_U8, 1, shape, NULL, &lab);
    if (st == VXT_OK)
        st = vxt_image_set_geometry(ct, &g);
    if (st == VXT_OK)
        st = vxt_image_set_geometry(lab, &g);
    if (st != VXT_OK) {
        rc = cli_fail_status("phantom", "cannot create the images", st);
        goto done;
    }
    char desc[80];
    snprintf(desc, sizeof desc, "voxtile phantom seed=%llu noise=%g fill=%g", (unsigned long long)p.seed, p.noise,
             p.fill);
    vxt_image_set_description(ct, desc);
    vxt_image_set_description(lab, "voxtile phantom labels: 0 background 1 body 2 lungs 3 bone");
    vxt_image_set_intent(lab, 1002, "Label", NULL);
    vxt_volume cv, lv;
    vxt_image_volume(ct, &cv);
    vxt_image_volume(lab, &lv);
    generate(&p, (int16_t *)cv.data, (uint8_t *)lv.data);
    if (strcmp(orient, "LPS") != 0) {
        if ((st = vxt_image_reorient(ct, orient, &ct_o)) != VXT_OK ||
            (st = vxt_image_reorient(lab, orient, &lab_o)) != VXT_OK) {
            cli_error("phantom", "--orientation: %s", vxt_last_error());
            rc = VXT_EXIT_USAGE;
            goto done;
        }
    }
    if ((rc = cli_write_image("phantom", ct_o ? ct_o : ct, out, 0)))
        goto done;
    if (labels && (rc = cli_write_image("phantom", lab_o ? lab_o : lab, labels, 0))) {
        remove(out); /* never half a result */
        goto done;
    }
    if (json) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "output", out);
        if (labels)
            cJSON_AddStringToObject(j, "labels", labels);
        cli_json_image(j, ct_o ? ct_o : ct);
        cJSON_AddNumberToObject(j, "seed", (double)p.seed);
        cJSON_AddNumberToObject(j, "noise", p.noise);
        cJSON_AddNumberToObject(j, "fill", p.fill);
        cJSON *cnt = cJSON_AddObjectToObject(j, "label_voxels");
        static const char *names[4] = {"background", "body", "lungs", "bone"};
        for (int l = 0; l < 4; l++)
            cJSON_AddNumberToObject(cnt, names[l], (double)p.counts[l]);
        cJSON_AddNumberToObject(j, "seconds", cli_seconds() - t0);
        rc = cli_print_json(j);
    }
done:
    vxt_image_destroy(ct);
    vxt_image_destroy(lab);
    vxt_image_destroy(ct_o);
    vxt_image_destroy(lab_o);
    return rc;
}
