// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// The files of web/, compiled into the binary by embed_web.cmake at build time: the gateway
// never reads its pages from disk, so the binary alone is the deployable unit and a stray
// working directory cannot change what users are served.
#ifndef ADMISSION_EXAMPLES_GATEWAY_WEB_ASSETS_H_
#define ADMISSION_EXAMPLES_GATEWAY_WEB_ASSETS_H_

#include <cstddef>

namespace admission::gateway {

struct WebAsset {
  const char* name;  // file name in web/, e.g. "index.html"
  const unsigned char* data;
  std::size_t size;
};

extern const WebAsset kWebAssets[];
extern const std::size_t kWebAssetCount;

}  // namespace admission::gateway

#endif  // ADMISSION_EXAMPLES_GATEWAY_WEB_ASSETS_H_
