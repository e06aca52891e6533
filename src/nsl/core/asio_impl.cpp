// The single translation unit that compiles Boost.Asio and Boost.Beast (separate compilation
// keeps their implementation out of every other file and keeps the build fast on two cores).
#include <utility>

#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
#include <boost/beast/src.hpp>
