# The emulator on free ports, nothing kept between runs (the flags of pnpm emulator)
dataverse-s2s emulator --port 0 --no-persist
