-- wrk script: GET /v1/images/{id}/similar?k=10 cycling through the ids in the file given after `--`; the two
-- wrk threads start half the collection apart.
local threads = 0
function setup(thread)
    threads = threads + 1
    thread:set("tid", threads)
end
local ids = {}
local counter = 0
function init(args)
    for line in io.lines(args[1]) do ids[#ids + 1] = line end
    counter = tid * math.floor(#ids / 2)
end
function request()
    counter = counter + 1
    return wrk.format("GET", "/v1/images/" .. ids[counter % #ids + 1] .. "/similar?k=10")
end
