// The AMX tile configuration the int8 kernels (packed_matrix.cpp) and the instruction-
// rate benchmark load: palette 1, tiles 0-7 each 16 rows of 64 bytes (16 rows of x's
// bytes, 16 quads of 16 weight columns, or 16 rows of 16 int32 sums).
#pragma once

#include <cstdint>

namespace kanade::model {

struct TileConfig {
    std::uint8_t palette = 1, start_row = 0, reserved[14] = {};
    std::uint16_t bytes_per_row[16] = {};
    std::uint8_t rows[16] = {};
};

inline constexpr int tile_rows = 16, tile_row_bytes = 64;

constexpr TileConfig eight_full_tiles() {
    TileConfig config;
    for (int tile = 0; tile < 8; ++tile) {
        config.rows[tile] = tile_rows;
        config.bytes_per_row[tile] = tile_row_bytes;
    }
    return config;
}

// Loaded from this constant in memory: GCC 12 does not see that LDTILECFG reads its
// operand and dropped the stores that filled a local one (the CPU then faults on the
// garbage).
alignas(64) inline constexpr TileConfig tile_config = eight_full_tiles();

}  // namespace kanade::model
