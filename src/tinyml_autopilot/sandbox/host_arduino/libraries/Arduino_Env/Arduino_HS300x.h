#ifndef TINYML_HS300X_H
#define TINYML_HS300X_H
#include "tinyml_env.h"
class HS300xClass : public TinymlClimate { public: using TinymlClimate::TinymlClimate; };
extern HS300xClass HS300x;
#endif
