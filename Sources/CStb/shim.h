#pragma once
// Debian's libstb.so carries the implementations; only the declarations are needed here.
#include <stb/stb_image.h>
#include <stb/stb_image_write.h>
#include <stb/stb_image_resize.h>
