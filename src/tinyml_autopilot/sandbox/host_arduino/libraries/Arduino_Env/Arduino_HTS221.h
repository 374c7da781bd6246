#ifndef TINYML_HTS221_H
#define TINYML_HTS221_H
#include "tinyml_env.h"
class HTS221Class : public TinymlClimate { public: using TinymlClimate::TinymlClimate; };
extern HTS221Class HTS;
#endif
