// Host Arduino core: Print/Stream/String/Serial with Arduino's formatting and parsing rules, a virtual
// clock, pins, and the main() that runs setup() then loop() against recorded readings.
#include "Arduino.h"
#include "Wire.h"
#include "SPI.h"
#include "tinyml_host.h"

#include <signal.h>
#include <unistd.h>
#include <fcntl.h>
#include <string>
#include <vector>
#include <map>

namespace {
const unsigned long long kVirtualLimitUs = 3600ULL * 1000000ULL;  // one virtual hour: a halted sketch
const size_t kOutputLimit = 4u << 20;
unsigned long long g_us = 0;
int g_out_fd = -1, g_ev_fd = -1;
unsigned long long g_out_bytes = 0;
char g_buf[4096];
size_t g_len = 0;
std::string g_in;
size_t g_in_pos = 0;
bool g_serial_input = false;
unsigned long long g_idle_polls = 0;
unsigned long g_reads = 0;
struct Recording { std::vector<std::vector<float>> rows; size_t pos = 0; };
std::map<std::string, Recording> g_rec;
int g_pins[64];

void raw_write(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w <= 0) return;
    p += w; n -= (size_t)w;
  }
}
void flush_out() { if (g_len) { raw_write(g_out_fd, g_buf, g_len); g_len = 0; } }

void finish(const char *why, int code) {
  flush_out();
  char line[160];
  snprintf(line, sizeof line, "%s readings=%lu us=%llu", why, g_reads, g_us);
  tinyml_event(line);
  _exit(code);
}

void on_signal(int sig) {
  flush_out();
  const char *name = sig == SIGSEGV ? "CRASH SIGSEGV\n" : sig == SIGBUS ? "CRASH SIGBUS\n" :
                     sig == SIGFPE ? "CRASH SIGFPE\n" : sig == SIGILL ? "CRASH SIGILL\n" : "CRASH SIGABRT\n";
  raw_write(g_ev_fd, name, strlen(name));
  _exit(128 + sig);
}

void tick(unsigned long long us) {
  g_us += us;
  if (g_us > kVirtualLimitUs) finish(g_reads ? "HALT_AFTER_READING" : "HALT_BEFORE_READING", 3);
}

std::string slurp(const char *path) {
  std::string s;
  FILE *f = fopen(path, "rb");
  if (!f) return s;
  char b[8192];
  size_t n;
  while ((n = fread(b, 1, sizeof b, f)) > 0) s.append(b, n);
  fclose(f);
  return s;
}

void load_recordings(const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) return;
  char line[4096];
  while (fgets(line, sizeof line, f)) {
    char *save = nullptr;
    char *kind = strtok_r(line, " \t\r\n", &save);
    if (!kind || kind[0] == '#') continue;
    std::vector<float> row;
    for (char *t = strtok_r(nullptr, " \t\r\n", &save); t; t = strtok_r(nullptr, " \t\r\n", &save))
      row.push_back(strtof(t, nullptr));
    g_rec[kind].rows.push_back(row);
  }
  fclose(f);
}

// The serial input ran dry while the sketch keeps polling for it.
void idle_poll() {
  tick(1);
  if (++g_idle_polls > 2000000ULL) finish(g_serial_input ? "END_SERIAL_INPUT" : "WAIT_SERIAL", g_serial_input ? 0 : 4);
}
}  // namespace

void tinyml_event(const char *text) {
  raw_write(g_ev_fd, text, strlen(text));
  raw_write(g_ev_fd, "\n", 1);
}

bool tinyml_replay_available(const char *kind) {
  auto it = g_rec.find(kind);
  return it != g_rec.end() && it->second.pos < it->second.rows.size();
}

bool tinyml_replay_next(const char *kind, float *values, int n) {
  tick(10);
  auto it = g_rec.find(kind);
  if (it == g_rec.end() || it->second.pos >= it->second.rows.size()) {
    if (it == g_rec.end()) {
      char line[120];
      snprintf(line, sizeof line, "NO_RECORDING %s", kind);
      tinyml_event(line);
    }
    finish("END", 0);
  }
  const std::vector<float> &row = it->second.rows[it->second.pos++];
  for (int i = 0; i < n; i++) values[i] = i < (int)row.size() ? row[i] : 0.0f;
  flush_out();
  char line[120];
  snprintf(line, sizeof line, "READ %s %lu %llu", kind, g_reads++, g_out_bytes);
  tinyml_event(line);
  g_idle_polls = 0;
  return true;
}

extern "C" {
unsigned long millis(void) { tick(1); return (unsigned long)(g_us / 1000ULL); }
unsigned long micros(void) { tick(1); return (unsigned long)g_us; }
void delay(unsigned long ms) { tick(1000ULL * ms + 1); }
void delayMicroseconds(unsigned int us) { tick(us + 1); }
void pinMode(pin_size_t pin, int mode) { (void)pin; (void)mode; }
void digitalWrite(pin_size_t pin, int value) { if (pin < 64) g_pins[pin] = value; }
int digitalRead(pin_size_t pin) { return pin < 64 ? g_pins[pin] : 0; }
// Analog pins replay "analog v0 v1 ..." rows (v0 on A0 or pin 0); a row is used up when a pin is read again.
int analogRead(pin_size_t pin) {
  static float row[16];
  static unsigned taken = ~0u;
  tick(10);
  if (g_rec.find("analog") == g_rec.end()) return 0;
  int idx = pin >= A0 ? pin - A0 : pin;
  if (idx < 0 || idx >= 16) return 0;
  if (taken & (1u << idx)) { tinyml_replay_next("analog", row, 16); taken = 0; }
  taken |= 1u << idx;
  return (int)row[idx];
}
void analogReadResolution(int bits) { (void)bits; }
void analogWrite(pin_size_t pin, int value) { if (pin < 64) g_pins[pin] = value; }
void analogWriteResolution(int bits) { (void)bits; }
void yield(void) { tick(1); }
void attachInterrupt(pin_size_t pin, void (*fn)(void), int mode) { (void)pin; (void)fn; (void)mode; }
void detachInterrupt(pin_size_t pin) { (void)pin; }
}

long map(long x, long in_min, long in_max, long out_min, long out_max) {
  return (x - in_min) * (out_max - out_min) / (in_max - in_min) + out_min;
}
static unsigned long g_seed = 1;
long random(long howbig) {
  if (howbig == 0) return 0;
  g_seed = g_seed * 1103515245UL + 12345UL;
  return (long)((g_seed >> 1) % (unsigned long)howbig);
}
long random(long howsmall, long howbig) { return howsmall >= howbig ? howsmall : howsmall + random(howbig - howsmall); }
void randomSeed(unsigned long seed) { if (seed) g_seed = seed; }
uint16_t makeWord(uint8_t h, uint8_t l) { return (uint16_t)((h << 8) | l); }
unsigned long pulseIn(pin_size_t pin, uint8_t state, unsigned long timeout) { (void)pin; (void)state; tick(timeout); return 0; }
void tone(pin_size_t pin, unsigned int frequency, unsigned long duration) { (void)pin; (void)frequency; (void)duration; }
void noTone(pin_size_t pin) { (void)pin; }

namespace arduino {
int HardwareSerial::available() {
  int n = (int)(g_in.size() - g_in_pos);
  if (n == 0) idle_poll(); else tick(1);
  return n;
}
int HardwareSerial::read() {
  if (g_in_pos >= g_in.size()) { idle_poll(); return -1; }
  tick(1);
  if (g_serial_input && (g_in_pos == 0 || g_in[g_in_pos - 1] == '\n') && g_in[g_in_pos] != '\n') {
    flush_out();  // the first byte of a recorded line: that reading is being taken
    char line[120];
    snprintf(line, sizeof line, "READ serial %lu %llu", g_reads++, g_out_bytes);
    tinyml_event(line);
    g_idle_polls = 0;
  }
  return (unsigned char)g_in[g_in_pos++];
}
int HardwareSerial::peek() {
  if (g_in_pos >= g_in.size()) { idle_poll(); return -1; }
  return (unsigned char)g_in[g_in_pos];
}
void HardwareSerial::flush() { flush_out(); }
size_t HardwareSerial::write(uint8_t c) { return write(&c, 1); }
size_t HardwareSerial::write(const uint8_t *b, size_t n) {
  if (port_ != 0) return n;
  if (g_out_bytes + n > kOutputLimit) finish("OUTPUT_LIMIT", 5);
  for (size_t i = 0; i < n; i++) {
    if (g_len == sizeof g_buf) flush_out();
    g_buf[g_len++] = (char)b[i];
  }
  g_out_bytes += n;
  tick(n * 10);  // 10 bits per byte at 1 Mbaud: printing takes time, as on the board
  return n;
}
}  // namespace arduino

arduino::HardwareSerial Serial(0);
arduino::HardwareSerial Serial1(1);
arduino::TwoWire Wire;
arduino::TwoWire Wire1;
arduino::SPIClass SPI;

// argv: serial output file, event file, recordings file, serial input file ("-" for none).
int main(int argc, char **argv) {
  if (argc < 5) { fprintf(stderr, "usage: %s SERIAL_OUT EVENTS RECORDINGS SERIAL_IN\n", argv[0]); return 64; }
  g_out_fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
  g_ev_fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (g_out_fd < 0 || g_ev_fd < 0) { perror("open"); return 65; }
  load_recordings(argv[3]);
  if (strcmp(argv[4], "-") != 0) { g_in = slurp(argv[4]); g_serial_input = true; }
  for (int s : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT}) signal(s, on_signal);
  tinyml_event("START");
  setup();
  tinyml_event("SETUP_DONE");
  for (;;) { loop(); tick(1); }
}
