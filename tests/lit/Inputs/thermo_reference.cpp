// Independent reference for thermo_reference.lm: the thermodynamics of a
// softmax over keys, straight from the definitions (LANGUAGE.md section 6),
// for logits L = linspace(-1.5, 2.0) over [heads = 2, queries = 3, keys = 3],
// temperature 1.7, causal mask. Compares with the step-0 row of metrics.csv.
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

int main(int argc, char **argv) {
  const int H = 2, Tq = 3, S = 3;
  const double T = 1.7;
  double L[H][Tq][S];
  for (int i = 0; i < H * Tq * S; ++i)
    (&L[0][0][0])[i] = -1.5 + 3.5 * i / double(H * Tq * S - 1);
  std::map<std::string, double> want;
  const char *names[] = {"F", "U", "S", "C"};
  for (int h = 0; h < H; ++h) {
    double sum[4] = {0, 0, 0, 0};
    for (int t = 0; t < Tq; ++t) {
      double Z = 0;
      for (int s = 0; s <= t; ++s) // causal: keys s <= t
        Z += std::exp(L[h][t][s] / T);
      double U = 0, E2 = 0, ent = 0;
      for (int s = 0; s <= t; ++s) {
        double p = std::exp(L[h][t][s] / T) / Z, E = -L[h][t][s];
        U += p * E;
        E2 += p * E * E;
        ent -= p * std::log(p);
      }
      double q[4] = {-T * std::log(Z), U, ent, (E2 - U * U) / (T * T)};
      for (int k = 0; k < 4; ++k)
        sum[k] += q[k] / Tq;
    }
    for (int k = 0; k < 4; ++k) {
      want[std::string("attn.") + names[k] + ".h" + std::to_string(h)] = sum[k];
      want[std::string("attn.") + names[k]] += sum[k] / H;
    }
  }
  std::ifstream csv(argv[1]);
  std::string header, row, cell;
  std::getline(csv, header);
  std::getline(csv, row);
  std::vector<std::string> cols;
  std::map<std::string, double> got;
  for (std::stringstream hs(header); std::getline(hs, cell, ',');)
    cols.push_back(cell);
  std::stringstream rs(row);
  for (size_t i = 0; std::getline(rs, cell, ',') && i < cols.size(); ++i)
    got[cols[i]] = std::strtod(cell.c_str(), nullptr);
  int bad = 0;
  for (const auto &[name, w] : want) {
    double g = got.count(name) ? got[name] : NAN;
    double rel = std::fabs(g - w) / std::max(std::fabs(w), 1e-12);
    std::printf("%-12s reference %.10g  lm %.10g  rel %.2e\n", name.c_str(), w, g, rel);
    bad += !(rel <= 1e-5);
  }
  // F = U - T S exactly; C >= 0; no variance across identical examples.
  for (std::string sfx : {"", ".h0", ".h1"}) {
    double gap = got["attn.F" + sfx] - (got["attn.U" + sfx] - T * got["attn.S" + sfx]);
    std::printf("F - (U - T S)%-4s %.2e\n", sfx.c_str(), gap);
    bad += !(std::fabs(gap) <= 1e-9);
    bad += !(got["attn.C" + sfx] >= 0);
  }
  for (const char *q : names)
    bad += !(std::fabs(got[std::string("attn.") + q + ".var"]) <= 1e-12);
  std::printf(bad ? "FAIL (%d)\n" : "PASS\n", bad);
  return bad != 0;
}
