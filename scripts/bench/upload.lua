-- wrk: POST /v1/images with one of 400 preloaded PNG bodies (make_upload_images.py) and a fresh id per request.
-- Arguments: FOLDER_WITH_PNGS ID_PREFIX
local threads = 0
function setup(thread)
    threads = threads + 1
    thread:set("tid", threads)
end
local bodies = {}
local counter = 0
local prefix = "u"
function init(args)
    for i = 0, 399 do
        local file = assert(io.open(args[1] .. "/" .. i .. ".png", "rb"))
        bodies[i] = file:read("*a")
        file:close()
    end
    prefix = args[2]
end
function request()
    counter = counter + 1
    return wrk.format("POST", "/v1/images?id=" .. prefix .. tid .. "-" .. counter, {["Content-Type"] = "image/png"},
                      bodies[counter % 400])
end
