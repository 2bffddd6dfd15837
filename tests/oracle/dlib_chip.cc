// dlib_chip — dlib's own face chips, the reference for our alignment
// (tests/models/dlib_chip.sh, make eval-align).
//
//   dlib_chip DATASET.xml OUT.rgb
//
// For every face box of a dlib imglab dataset with 68 parts (dlib's
// reference/dlib_faces/*_with_face_landmarks.xml), in file order: the photo
// loaded by dlib's load_image, the chip of get_face_chip_details(shape, 150,
// 0.25) cut by extract_image_chip — what dlib's face recognition example
// hands the ResNet — written as 150x150 RGB bytes, one after the other.
// Prints the number of chips. Built from Debian's libdlib-dev; only the
// test and the evaluation use it, never the server.
#include <dlib/data_io.h>
#include <dlib/image_io.h>
#include <dlib/image_processing.h>
#include <dlib/image_transforms.h>
#include <cstdio>
#include <string>
#include <vector>

int main(int argc, char **argv)
{
	if (argc != 3) {
		std::fprintf(stderr, "usage: dlib_chip DATASET.xml OUT.rgb\n");
		return 2;
	}
	dlib::image_dataset_metadata::dataset data;
	dlib::image_dataset_metadata::load_image_dataset_metadata(data, argv[1]);
	std::string dir(argv[1]);
	size_t slash = dir.rfind('/');
	dir = slash == std::string::npos ? std::string(".") : dir.substr(0, slash);
	FILE *out = std::fopen(argv[2], "wb");
	if (!out) {
		std::fprintf(stderr, "cannot write %s\n", argv[2]);
		return 1;
	}
	int n = 0;
	for (const auto &im : data.images) {
		dlib::matrix<dlib::rgb_pixel> img;
		dlib::load_image(img, dir + "/" + im.filename);
		for (const auto &b : im.boxes) {
			if (b.parts.size() != 68)
				continue;
			std::vector<dlib::point> parts(68);
			for (const auto &p : b.parts)
				parts[std::stoi(p.first)] = p.second;
			dlib::full_object_detection shape(b.rect, parts);
			dlib::matrix<dlib::rgb_pixel> chip;
			dlib::extract_image_chip(img, dlib::get_face_chip_details(shape, 150, 0.25), chip);
			for (long r = 0; r < chip.nr(); r++)
				for (long c = 0; c < chip.nc(); c++) {
					unsigned char px[3] = {chip(r, c).red, chip(r, c).green, chip(r, c).blue};
					std::fwrite(px, 1, 3, out);
				}
			n++;
		}
	}
	std::fclose(out);
	std::printf("%d\n", n);
	return 0;
}
