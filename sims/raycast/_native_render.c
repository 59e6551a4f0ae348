/* Native frame renderer of the built-in simulator: camera rays generated in C and cast into Embree 4
   (the library the embreex wheel ships) as 8-wide packets over 4x2 pixel tiles, then shaded exactly as
   sims/raycast/render.py does in numpy (per-face colour lookup + procedural texture tiles).
   The few Embree 4 declarations needed are written out by hand (the wheel ships no headers).
   Built on first use by sims/raycast/native.py; the numpy path is the fallback and the reference. */
#include <stdint.h>
#include <stddef.h>
#include <string.h>
#include <math.h>
typedef void* RTCDevice; typedef void* RTCScene; typedef void* RTCGeometry;
RTCDevice rtcNewDevice(const char*);
RTCScene rtcNewScene(RTCDevice);
void rtcSetSceneBuildQuality(RTCScene, int);
void rtcSetSceneFlags(RTCScene, int);
RTCGeometry rtcNewGeometry(RTCDevice, int);
void* rtcSetNewGeometryBuffer(RTCGeometry, int, unsigned, int, size_t, size_t);
void rtcSetGeometryBuildQuality(RTCGeometry, int);
void rtcCommitGeometry(RTCGeometry); unsigned rtcAttachGeometry(RTCScene, RTCGeometry); void rtcReleaseGeometry(RTCGeometry);
void rtcCommitScene(RTCScene);
void rtcReleaseScene(RTCScene);

#define SOA(N) \
typedef struct __attribute__((aligned(64))) { float org_x[N], org_y[N], org_z[N], tnear[N], dir_x[N], dir_y[N], dir_z[N], time[N], tfar[N]; unsigned mask[N], id[N], flags[N]; \
  float Ng_x[N], Ng_y[N], Ng_z[N], u[N], v[N]; unsigned primID[N], geomID[N], instID[N], instPrimID[N]; char pad[1024]; } RayHit##N;
SOA(8)
typedef struct { int flags; unsigned feature_mask; void* context; void* filter; void* intersect; float minw; char pad[64]; } Args;
void rtcIntersect8(const int*, RTCScene, void*, Args*);

static RTCDevice dev = 0;
/* tri: (nfaces, 3, 3) float32 triangle corners. Returns an Embree scene handle. */
void* fc_build(const float* tri, long nfaces, int quality) {
  if (!dev) dev = rtcNewDevice(NULL);
  RTCScene s = rtcNewScene(dev);
  rtcSetSceneBuildQuality(s, quality);
  RTCGeometry g = rtcNewGeometry(dev, 0);
  float* vb = rtcSetNewGeometryBuffer(g, 1, 0, 0x9003, 12, nfaces * 3);
  unsigned* ib = rtcSetNewGeometryBuffer(g, 0, 0, 0x5003, 12, nfaces);
  memcpy(vb, tri, sizeof(float) * 9 * nfaces);
  for (long i = 0; i < 3 * nfaces; i++) ib[i] = (unsigned)i;
  rtcSetGeometryBuildQuality(g, quality);
  rtcCommitGeometry(g); rtcAttachGeometry(s, g); rtcReleaseGeometry(g);
  rtcCommitScene(s);
  return s;
}

static inline uint8_t to_u8(float x) { x = x + 0.5f; return (uint8_t)(x < 0.f ? 0.f : (x > 255.f ? 255.f : x)); }
static inline int wrap_index(float x, int n) {  /* x is integer-valued (a floor): x mod n in [0, n) */
  if (fabsf(x) < 1e9f) {
    int i = (int)x;
    if ((n & (n - 1)) == 0) return i & (n - 1);  /* power-of-two sizes: two's complement wraps negatives */
    i %= n; return i < 0 ? i + n : i;
  }
  int i = (int)fmodf(x, (float)n); return i < 0 ? i + n : i;
}

/* Bilinear, REPEAT-wrapped lookup of an (h, w, 3) uint8 image at the face's interpolated UV (origin at the
   image's bottom-left, v up); texel centres at (i + 0.5) / w. Mirrors render.py sample_texture exactly. */
static void sample_texture(const float* uv, float bw, float bu, float bv, const uint8_t* img, int w, int h,
                           float* out) {
  float s = bw * uv[0] + bu * uv[2] + bv * uv[4], t = bw * uv[1] + bu * uv[3] + bv * uv[5];
  if (!isfinite(s) || !isfinite(t)) { s = 0.f; t = 0.f; }
  float x = s * (float)w - 0.5f, y = (1.f - t) * (float)h - 0.5f;
  float xf = floorf(x), yf = floorf(y), ax = x - xf, ay = y - yf;
  int x0 = wrap_index(xf, w), y0 = wrap_index(yf, h);
  int x1 = x0 + 1 == w ? 0 : x0 + 1, y1 = y0 + 1 == h ? 0 : y0 + 1;
  const uint8_t *p00 = img + 3 * ((long)y0 * w + x0), *p01 = img + 3 * ((long)y0 * w + x1);
  const uint8_t *p10 = img + 3 * ((long)y1 * w + x0), *p11 = img + 3 * ((long)y1 * w + x1);
  for (int ch = 0; ch < 3; ch++) {
    float top = p00[ch] + ax * (float)(p01[ch] - p00[ch]), bot = p10[ch] + ax * (float)(p11[ch] - p10[ch]);
    out[ch] = top + ay * (bot - top);
  }
}

/* Render rows [row0, row1) of a W x H frame. o: camera origin (3,), R: world_from_cam rotation, row-major
   (3, 3). face_mode (F + 1,) uint8 or NULL: 0 = per-face colour (+ procedural pattern), 1 = texture (face_tex8
   (F, 8) float32: the corners' UVs, level-0 texels per metre, the texture id; texture t's mip levels
   are entries tex_base[t] .. tex_base[t] + tex_nlev[t] - 1 of tex_ptr / tex_wh (w, h)), 2 = corner colours
   (corner_rgb (F, 3, 3) uint8). Outputs are full-frame arrays: rgb (H, W, 3) uint8, depth (H, W) float32, instance (H, W) int32. */
void fc_render(void* scene, const double* o, const double* R, double fx, double fy, double cx, double cy,
               int W, int H, int row0, int row1, float tmax,
               const uint32_t* rgb_u32, const uint8_t* pattern, const int32_t* instance, const uint8_t* horizontal,
               int miss_row, const float* tiles, const float* tile_scale, int tile_res,
               const uint8_t* face_mode, const float* face_tex8,
               const uint8_t* const* tex_ptr, const int32_t* tex_wh, const int32_t* tex_base, const int32_t* tex_nlev,
               const uint8_t* corner_rgb,
               uint8_t* out_rgb, float* out_depth, int32_t* out_inst) {
  Args args; memset(&args, 0, sizeof(args)); args.feature_mask = 0xffffffffu; args.minw = 1.0f; args.flags = 1;
  float ox = o[0], oy = o[1], oz = o[2];
  float r[9]; for (int i = 0; i < 9; i++) r[i] = (float)R[i];
  static __thread RayHit8 rh; RayHit8* q = &rh;
  int valid[8]; float dx[8], dy[8], dz[8];
  int mask = tile_res - 1;
  float inv_fx = (float)(1.0 / fx);
  for (int v0 = row0; v0 < row1; v0 += 2) {
    for (int u0 = 0; u0 < W; u0 += 4) {
      for (int j = 0; j < 8; j++) {
        int u = u0 + (j & 3), v = v0 + (j >> 2);
        valid[j] = (u < W && v < row1) ? -1 : 0;
        float xc = (float)((u - cx) / fx), yc = (float)((v - cy) / fy);
        dx[j] = r[0]*xc + r[1]*yc + r[2]; dy[j] = r[3]*xc + r[4]*yc + r[5]; dz[j] = r[6]*xc + r[7]*yc + r[8];
        q->org_x[j] = ox; q->org_y[j] = oy; q->org_z[j] = oz; q->tnear[j] = 0.f; q->time[j] = 0.f;
        q->dir_x[j] = dx[j]; q->dir_y[j] = dy[j]; q->dir_z[j] = dz[j];
        q->tfar[j] = tmax; q->mask[j] = 0xffffffffu; q->id[j] = 0; q->flags[j] = 0;
        q->geomID[j] = 0xffffffffu; q->primID[j] = 0xffffffffu; q->instID[j] = 0xffffffffu;
      }
      rtcIntersect8(valid, scene, q, &args);
      for (int j = 0; j < 8; j++) {
        if (!valid[j]) continue;
        int u = u0 + (j & 3), v = v0 + (j >> 2); long k = (long)v * W + u;
        int hit = q->geomID[j] != 0xffffffffu;
        int f = hit ? (int)q->primID[j] : miss_row;
        float t = hit ? q->tfar[j] : 0.f;
        out_depth[k] = t; out_inst[k] = instance[f];
        uint32_t c = rgb_u32[f];
        uint8_t c0 = c & 255, c1 = (c >> 8) & 255, c2 = (c >> 16) & 255;
        int p = pattern[f];
        if (p) {
          float px_ = ox + t * dx[j], py_ = oy + t * dy[j], pz_ = oz + t * dz[j];
          float a = horizontal[f] ? px_ : px_ + py_, b = horizontal[f] ? py_ : pz_;
          int ia = ((int)floorf(a * tile_scale[2 * p])) & mask, ib = ((int)floorf(b * tile_scale[2 * p + 1])) & mask;
          float tex = tiles[((long)p * tile_res + ib) * tile_res + ia];
          c0 = (uint8_t)fminf(c0 * tex + 0.5f, 255.f); c1 = (uint8_t)fminf(c1 * tex + 0.5f, 255.f);
          c2 = (uint8_t)fminf(c2 * tex + 0.5f, 255.f);
        }
        int m = (hit && face_mode) ? face_mode[f] : 0;
        if (m) {  /* scanned scenes: baked appearance at the hit's barycentric coordinates (u, v) */
          float bu = q->u[j], bv = q->v[j], bw = 1.f - bu - bv;
          float rgbf[3];
          if (m == 1) {  /* mip level: texels under the pixel's footprint t / fx at this face's density */
            const float* ft = face_tex8 + 8 * (long)f;  /* one cache line: u0 v0 u1 v1 u2 v2, texels/m, texture id */
            int ti = (int)ft[7], nl = tex_nlev[ti];
            /* level = floor(log2(texels per pixel * sqrt 2)), read off the float's exponent (exactly as numpy's frexp) */
            float x = t * inv_fx * ft[6] * 1.41421356f;
            int l = 0;
            if (x > 1.f && isfinite(x)) { uint32_t b; memcpy(&b, &x, 4); l = (int)((b >> 23) & 255u) - 127; }
            if (l > nl - 1) l = nl - 1;
            int k = tex_base[ti] + l;
            sample_texture(ft, bw, bu, bv, tex_ptr[k], tex_wh[2 * k], tex_wh[2 * k + 1], rgbf);
          }
          else { const uint8_t* cc = corner_rgb + 9 * (long)f;
                 for (int ch = 0; ch < 3; ch++) rgbf[ch] = bw * cc[ch] + bu * cc[3 + ch] + bv * cc[6 + ch]; }
          c0 = to_u8(rgbf[0]); c1 = to_u8(rgbf[1]); c2 = to_u8(rgbf[2]);
        }
        out_rgb[3 * k] = c0; out_rgb[3 * k + 1] = c1; out_rgb[3 * k + 2] = c2;
      }
    }
  }
}

void fc_release(void* scene) { if (scene) rtcReleaseScene((RTCScene)scene); }
